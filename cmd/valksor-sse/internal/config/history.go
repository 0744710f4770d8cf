package config

import (
	"fmt"
	"strings"
	"time"
)

// History is what the hub keeps of past events, for clients that resume,
// and where: in memory or in Redis.
type History struct {
	// Size is the number of events kept for replay, >= 0 (key
	// history_size, default 1000).
	Size int
	// MaxAge bounds the Redis history by age too (key history_max_age,
	// 0 = count only).
	MaxAge time.Duration
	// Transport selects where events are ordered and stored (key transport):
	// "memory" (default) or a Redis URL (redis://host:6379/0, rediss:// for
	// TLS) shared by several servers.
	Transport string
	// RedisPrefix is the prefix of the Redis keys (key redis_prefix).
	RedisPrefix string
}

// checkTransport validates the transport.
func checkTransport(c Config) string {
	if c.History.Transport == "memory" || strings.HasPrefix(c.History.Transport, "redis://") || strings.HasPrefix(c.History.Transport, "rediss://") {
		return ""
	}
	return fmt.Sprintf(`want "memory" or a Redis URL such as redis://127.0.0.1:6379/0, got %q`, c.History.Transport)
}
