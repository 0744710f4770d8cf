package server

import (
	"encoding/json"
	"net/http"
)

// serveReady answers 200 while the hub is healthy and not shutting down,
// 503 otherwise (a load balancer stops sending new clients).
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "readyz answers GET", http.StatusMethodNotAllowed)
		return
	}
	h := s.hub.Health(r.Context())
	body := map[string]string{"status": "ready"}
	status := http.StatusOK
	if h.Status != "ok" {
		body = map[string]string{"status": "not ready", "reason": h.Status}
		if h.TransportError != "" {
			body["transport_error"] = h.TransportError
		}
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
