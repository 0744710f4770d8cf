package server

import (
	"encoding/json"
	"net/http"

	sse "github.com/valksor/go-sse"
)

// serveReady answers 200 while the hub is healthy and not shutting down,
// 503 otherwise (a load balancer stops sending new clients). The answer
// names the hub's state (degraded, down) and nothing more: the transport's
// address and error go to the log (see sse.Hub.Health), not to anyone who
// asks.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "readyz answers GET", http.StatusMethodNotAllowed)
		return
	}
	h := s.hub.Health(r.Context())
	body := map[string]string{"status": "ready"}
	status := http.StatusOK
	if h.Status != sse.HealthOK {
		body = map[string]string{"status": "not ready", "reason": h.Status}
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
