package server

import (
	"fmt"
	"net/http"

	"github.com/valksor/go-sse/internal/cors"
	"github.com/valksor/go-sse/jwt"
)

// checkOrigin refuses publishes authenticated by the auth cookie from a
// page whose origin is neither the server's own nor in AllowedOrigins
// ("*" does not count): a cookie is sent by the browser on its own, so
// without this check any site could publish in the name of a logged-in
// user (CSRF). A token in the Authorization header or the query is not
// ambient and is not checked.
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	if s.opts.JWT == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.isPublish(r) {
			if _, src := s.opts.JWT.Token(r); src == jwt.FromCookie && !s.originAllowed(r) {
				origin := r.Header.Get("Origin")
				if origin == "" {
					origin = "another site (Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site") + ")"
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, "a publish authenticated by cookie from %.100q is refused: add the origin to cors_origins, or send the token in the Authorization header\n", origin)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed reports whether the page that sent r may use the cookie.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin with every POST; without it this is another
		// kind of client, unless the fetch metadata says otherwise.
		site := r.Header.Get("Sec-Fetch-Site")
		return site != "cross-site" && site != "same-site"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == scheme+"://"+r.Host {
		return true
	}
	// A "*" entry lets any page read; it does not vouch for any of them.
	allowed, wildcard := cors.Allowed(s.opts.AllowedOrigins, origin)
	return allowed && !wildcard
}
