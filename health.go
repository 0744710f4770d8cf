package sse

import (
	"context"
	"fmt"
	"net/http"
)

// Health states, in Health.Status and the health endpoint's answer.
const (
	// HealthOK means the hub serves streams and accepts publishes.
	HealthOK = "ok"
	// HealthDegraded means streams are served but the transport cannot
	// publish (its backing service is unreachable).
	HealthDegraded = "degraded"
	// HealthDown means the hub is shutting down and refuses new streams.
	HealthDown = "down"
)

// Health is the hub's state with its details. The health endpoint shows
// the details only to callers with the publish token: to anyone else it
// answers the status alone, since the transport's address and errors tell
// an attacker where the backend is.
type Health struct {
	// Status is HealthOK, HealthDegraded or HealthDown.
	Status string `json:"status"`
	// Reason says why Status is not HealthOK ("" when it is).
	Reason         string  `json:"reason,omitempty"`
	Connections    int     `json:"connections"`
	MaxConnections int     `json:"max_connections"`
	Published      uint64  `json:"published"`
	UptimeSeconds  float64 `json:"uptime_seconds"`
	// Transport describes the transport, such as "memory (history 1000)".
	Transport string `json:"transport"`
	// TransportError is why the transport cannot publish, when it cannot.
	TransportError string `json:"transport_error,omitempty"`
}

// Health reports the hub's state, checking the transport when it can fail.
// A change between ok and degraded is logged, with the transport's error, at
// warning level (and the recovery at info level), once per change.
func (h *Hub) Health(ctx context.Context) Health {
	st := h.Stats()
	out := Health{
		Status:         HealthOK,
		Connections:    st.Connections,
		MaxConnections: st.MaxConnections,
		Published:      st.Published,
		UptimeSeconds:  st.Uptime.Seconds(),
		Transport:      fmt.Sprint(h.transport),
	}
	if hc, ok := h.transport.(HealthChecker); ok {
		err := hc.Health(ctx)
		if err != nil && ctx.Err() == nil {
			out.Status, out.Reason, out.TransportError = HealthDegraded, "the transport cannot publish", err.Error()
		}
		if degraded := out.Status == HealthDegraded; h.degraded.Swap(degraded) != degraded {
			if degraded {
				h.log.Warn("health: degraded: the transport cannot publish", "transport", out.Transport, "err", err)
			} else {
				h.log.Info("health: ok again: the transport publishes", "transport", out.Transport)
			}
		}
	}
	if h.closed() {
		out.Status, out.Reason = HealthDown, "shutting down"
	}
	return out
}

// serveHealth answers base/healthz: 200 with {"status": "ok"} or
// {"status": "degraded"}, 503 with {"status": "down"}. A request with the
// publish token gets every field of Health.
func (h *Hub) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "health answers GET", http.StatusMethodNotAllowed)
		return
	}
	hl := h.Health(r.Context())
	status := http.StatusOK
	if hl.Status == HealthDown {
		status = http.StatusServiceUnavailable
	}
	if len(h.opts.publishTokens) == 0 || h.checkPublishToken(r) != nil {
		writeJSON(w, status, map[string]string{"status": hl.Status})
		return
	}
	writeJSON(w, status, hl)
}
