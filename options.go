package sse

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults used when an option is not given. They follow the original
// component's defaults where it had one.
const (
	DefaultBasePath       = "/sse"
	DefaultPingInterval   = 30 * time.Second
	DefaultMaxConnections = 100
	DefaultStreamTimeout  = 300 * time.Second
	DefaultHistorySize    = 1000
	DefaultQueueSize      = 256
	DefaultRetry          = 2 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxBodyBytes   = 1 << 20
	// ShutdownRetry is the reconnection delay sent to streams when the hub
	// shuts down, so clients come back soon after a restart.
	ShutdownRetry = time.Second
)

// Option configures a Hub. Options validate their argument; New returns the
// first error.
type Option func(*options) error

// ConnInfo describes an open stream, for the connect and disconnect hooks.
type ConnInfo struct {
	// ID is the connection id sent in the connected event.
	ID string
	// Topics are the topics the stream listens to. The list is the hub's
	// own (streams on the same single topic share it): read it, and copy
	// it to keep or change it.
	Topics []string
	// RemoteAddr is the peer's address as net/http reports it.
	RemoteAddr string
	// Request is the HTTP request that opened the stream. Hooks must not
	// read its body or keep it after they return.
	Request *http.Request
}

type options struct {
	transport      Transport
	historySize    int
	basePath       string
	pingInterval   time.Duration
	pingData       func() any
	maxConnections int
	streamTimeout  time.Duration
	queueSize      int
	retry          time.Duration
	writeTimeout   time.Duration
	maxBodyBytes   int64
	maxTopics      int
	publishTokens  []string
	anonPublish    bool
	origins        []string
	topics         []string
	headers        http.Header
	logger         *slog.Logger
	onConnect      func(ConnInfo)
	onDisconnect   func(ConnInfo, error)
	hijack         bool
	authorizer     Authorizer
	onDeliver      func(Delivery)
}

func defaultOptions() options {
	return options{
		historySize:    DefaultHistorySize,
		basePath:       DefaultBasePath,
		pingInterval:   DefaultPingInterval,
		maxConnections: DefaultMaxConnections,
		streamTimeout:  DefaultStreamTimeout,
		queueSize:      DefaultQueueSize,
		retry:          DefaultRetry,
		writeTimeout:   DefaultWriteTimeout,
		maxBodyBytes:   DefaultMaxBodyBytes,
		maxTopics:      DefaultMaxTopics,
		headers:        http.Header{},
		hijack:         true,
	}
}

func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("sse: %s must not be negative, got %v", name, d)
	}
	return nil
}

// WithTransport sets the transport. The caller keeps ownership: Shutdown does
// not close it. Without this option the hub creates an in-memory transport
// and closes it on Shutdown.
func WithTransport(t Transport) Option {
	return func(o *options) error {
		if t == nil {
			return fmt.Errorf("sse: WithTransport: nil transport")
		}
		o.transport = t
		return nil
	}
}

// WithHistorySize sets how many events the default in-memory transport keeps
// for resuming clients (default 1000). It has no effect with WithTransport.
func WithHistorySize(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("sse: history size must not be negative, got %d", n)
		}
		o.historySize = n
		return nil
	}
}

// WithBasePath sets the path under which Handler serves the stream
// (base), health (base/healthz), publish (base/publish) and ping
// (base/ping). Default "/sse".
func WithBasePath(p string) Option {
	return func(o *options) error {
		if !strings.HasPrefix(p, "/") || (len(p) > 1 && strings.HasSuffix(p, "/")) {
			return fmt.Errorf("sse: base path %q must start with / and not end with /", p)
		}
		if p == "/" {
			p = ""
		}
		o.basePath = p
		return nil
	}
}

// WithPingInterval sets the heartbeat interval (default 30s); 0 disables it.
func WithPingInterval(d time.Duration) Option {
	return func(o *options) error {
		o.pingInterval = d
		return nonNegative("ping interval", d)
	}
}

// WithPingData replaces the heartbeat payload (default
// {"timestamp": <unix ms>}). fn is called once per heartbeat and its result
// encoded like Event.Data.
func WithPingData(fn func() any) Option {
	return func(o *options) error {
		o.pingData = fn
		return nil
	}
}

// WithMaxConnections caps concurrent streams (default 100); 0 means no
// limit. A stream over the cap is answered 503 with Retry-After.
func WithMaxConnections(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("sse: max connections must not be negative, got %d", n)
		}
		o.maxConnections = n
		return nil
	}
}

// WithStreamTimeout sets the longest a stream lives before the hub closes it
// (default 300s); 0 means no limit. Clients reconnect with Last-Event-ID and
// lose nothing that is still in the history.
func WithStreamTimeout(d time.Duration) Option {
	return func(o *options) error {
		o.streamTimeout = d
		return nonNegative("stream timeout", d)
	}
}

// WithQueueSize sets how many events may wait for one slow stream (default
// 256). A stream whose queue is full is disconnected; it resumes from its
// last id.
func WithQueueSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("sse: queue size must be at least 1, got %d", n)
		}
		o.queueSize = n
		return nil
	}
}

// WithRetry sets the reconnection delay sent to clients when they connect
// (default 2s).
func WithRetry(d time.Duration) Option {
	return func(o *options) error {
		o.retry = d
		return nonNegative("retry", d)
	}
}

// WithWriteTimeout sets how long one write to a stream may block before the
// stream is dropped (default 10s); 0 means no deadline.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) error {
		o.writeTimeout = d
		return nonNegative("write timeout", d)
	}
}

// WithMaxBodyBytes limits the size of a publish request body (default 1 MiB).
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("sse: max body bytes must be positive, got %d", n)
		}
		o.maxBodyBytes = n
		return nil
	}
}

// WithPublishToken adds a bearer token accepted by the publish endpoint.
// Without a token (and without WithAnonymousPublish) publishing over HTTP is
// refused; Broadcast from Go code is always allowed.
func WithPublishToken(token string) Option {
	return func(o *options) error {
		if strings.TrimSpace(token) == "" {
			return fmt.Errorf("sse: publish token must not be empty")
		}
		o.publishTokens = append(o.publishTokens, token)
		return nil
	}
}

// WithAnonymousPublish lets anyone who can reach the publish endpoint publish.
// Use it only on a trusted network.
func WithAnonymousPublish() Option {
	return func(o *options) error {
		o.anonPublish = true
		return nil
	}
}

// WithAllowedOrigins sets the origins allowed to use the endpoints from a
// browser page on another origin (CORS). A pattern is an exact origin
// ("https://app.example.com"), a subdomain wildcard
// ("https://*.example.com"), a port wildcard ("http://localhost:*"), or "*".
// Without it only same-origin pages can read the stream.
func WithAllowedOrigins(patterns ...string) Option {
	return func(o *options) error {
		for _, p := range patterns {
			if p != "*" && !strings.Contains(p, "://") {
				return fmt.Errorf("sse: allowed origin %q must be \"*\" or look like scheme://host[:port]", p)
			}
		}
		o.origins = append(o.origins, patterns...)
		return nil
	}
}

// WithMaxTopics caps how many topics one stream may listen to and one event
// may be published to (default DefaultMaxTopics). A request over the cap is
// refused with 400 before any other work.
func WithMaxTopics(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("sse: max topics must be at least 1, got %d", n)
		}
		o.maxTopics = n
		return nil
	}
}

// WithTopics restricts topics to an allowlist. An entry ending in "*" allows
// every topic with that prefix. DefaultTopic is always allowed. Without it any
// well-formed topic is allowed.
func WithTopics(allowed ...string) Option {
	return func(o *options) error {
		for _, t := range allowed {
			if err := validTopic(strings.TrimSuffix(t, "*")+"x", nil); err != nil {
				return fmt.Errorf("sse: WithTopics: %w", err)
			}
		}
		o.topics = append(o.topics, allowed...)
		return nil
	}
}

// WithHeader adds a response header to every stream.
func WithHeader(key, value string) Option {
	return func(o *options) error {
		o.headers.Add(key, value)
		return nil
	}
}

// WithLogger sets the logger. Connects, disconnects and events are logged at
// debug level. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		o.logger = l
		return nil
	}
}

// WithOnConnect sets a hook called when a stream opens, before its first
// event is written. It runs on the stream's goroutine and should be quick.
func WithOnConnect(fn func(ConnInfo)) Option {
	return func(o *options) error {
		o.onConnect = fn
		return nil
	}
}

// WithOnDisconnect sets a hook called when a stream ends, with the reason
// (nil when the client went away).
func WithOnDisconnect(fn func(ConnInfo, error)) Option {
	return func(o *options) error {
		o.onDisconnect = fn
		return nil
	}
}

// WithHijack chooses whether HTTP/1.1 streams, plain or over TLS, are taken
// over from net/http after their opening events, and HTTP/2 streams
// detached from their handler where the server allows it (a Detacher, as
// package h2's server offers), default true. Taken-over streams cost no
// goroutine while idle and are written by a small pool (a TLS stream
// without waiting when its listener is wrapped with Listener); the others
// (HTTP/2 under net/http's own server, and writers that cannot be
// hijacked) are served from their handler's goroutine. Turn it off when a
// middleware must see the whole response.
func WithHijack(enabled bool) Option {
	return func(o *options) error {
		o.hijack = enabled
		return nil
	}
}

// Delivery describes one message after the hub fanned it out, for
// WithOnDeliver.
type Delivery struct {
	// Message is the delivered message; it must not be modified.
	Message *Message
	// Bytes is the size of the encoded frame.
	Bytes int
	// Receivers is how many streams the frame was queued for.
	Receivers int
}

// WithOnDeliver sets a hook called after every message is fanned out to
// this hub's streams, on the delivering goroutine: it must be quick and must
// not block (the dashboard uses it for its event tail).
func WithOnDeliver(fn func(Delivery)) Option {
	return func(o *options) error {
		o.onDeliver = fn
		return nil
	}
}
