package config

import (
	"fmt"
	"strings"
	"time"
)

// Streams are the settings of the event streams and of the hub that
// serves them.
type Streams struct {
	// PingInterval is the heartbeat interval, 0 = no heartbeat (key
	// ping_interval, default 30s).
	PingInterval time.Duration
	// MaxConnections bounds concurrent streams, 0 = no limit (key
	// max_connections, default 100).
	MaxConnections int
	// Timeout is the maximum lifetime of one stream, 0 = no limit (key
	// timeout, default 300s).
	Timeout time.Duration
	// QueueSize is the per-subscriber buffer, >= 1 (key queue_size, default 256).
	QueueSize int
	// Retry is the reconnect delay sent to clients (key retry, default 2s;
	// a bare integer is milliseconds).
	Retry time.Duration
	// WriteTimeout drops a stream whose write blocks longer, > 0 (key
	// write_timeout, default 10s).
	WriteTimeout time.Duration
	// Topics is the topic allowlist, empty = any topic; an entry ending in
	// "*" is a prefix wildcard (key topics, default empty).
	Topics []string
	// MaxTopics caps the topics of one stream and of one event (key
	// max_topics, default 100).
	MaxTopics int
}

func checkTopics(c Config) string {
	for _, t := range c.Streams.Topics {
		switch {
		case t == "":
			return "must not contain empty topics"
		case hasSpaceOrControl(t):
			return fmt.Sprintf("topics must not contain spaces or control characters, got %q", t)
		case strings.Contains(strings.TrimSuffix(t, "*"), "*"):
			return fmt.Sprintf(`"*" is only allowed at the end of a topic (prefix wildcard), got %q`, t)
		}
	}
	return ""
}
