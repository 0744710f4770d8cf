package config

import (
	"fmt"
	"net/netip"
)

// Limits are the per-client rate limits (the limits block); 0 is no limit.
type Limits struct {
	// StreamsPerSecond bounds new streams per second per client IP (key
	// limits.streams_per_second).
	StreamsPerSecond int
	// StreamsPerIP bounds concurrent streams per client IP (key
	// limits.streams_per_ip).
	StreamsPerIP int
	// PublishesPerSecond bounds publish requests per second per token (or
	// client IP without one) (key limits.publishes_per_second).
	PublishesPerSecond int
	// ConnectionsPerIP bounds the connections of any kind (streams,
	// requests, idle keep-alives) one client IP holds, counted when they are
	// accepted; trusted proxies are exempt (key limits.connections_per_ip).
	ConnectionsPerIP int
	// TrustedProxies lists the proxies (IPs or CIDRs) whose
	// X-Forwarded-For is believed (key limits.trusted_proxies).
	TrustedProxies []string
}

func checkProxies(c Config) string {
	for _, p := range c.Limits.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			continue
		}
		return fmt.Sprintf("want IP addresses or CIDRs such as 10.0.0.0/8, got %q", p)
	}
	return ""
}
