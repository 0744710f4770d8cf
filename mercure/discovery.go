package mercure

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// LinkHeader returns the value of the discovery header that points
// subscribers to the hub at hubURL:
//
//	<https://example.com/.well-known/mercure>; rel="mercure"
//
// A non-empty lastEventID adds the last-event-id attribute: the id of the
// last update when the page was generated, which the subscriber passes as
// lastEventID so that it misses nothing published since.
func LinkHeader(hubURL, lastEventID string) string {
	v := "<" + hubURL + `>; rel="mercure"`
	if lastEventID != "" {
		v += `; last-event-id="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(lastEventID) + `"`
	}
	return v
}

// Discover returns middleware that adds the discovery Link header for the
// hub at hubURL to every response of next, as the protocol asks publishers
// (the application serving the resources) to do. An empty hubURL means
// Path on the request's own scheme and host.
func Discover(hubURL string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := hubURL
			if u == "" {
				scheme := "http"
				if r.TLS != nil {
					scheme = "https"
				}
				u = (&url.URL{Scheme: scheme, Host: r.Host, Path: Path}).String()
			}
			w.Header().Add("Link", LinkHeader(u, ""))
			next.ServeHTTP(w, r)
		})
	}
}

// AuthorizationCookie returns the cookie that carries a subscriber token
// for browsers (EventSource cannot send headers), set by the application
// when it renders a page: mercureAuthorization, HttpOnly, Secure,
// SameSite=Strict, restricted to the hub's path, expiring with the token
// (a zero expires makes a session cookie). The application and the hub
// must share the registrable domain; set Domain on the result for
// subdomains.
func AuthorizationCookie(token string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     Path,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	}
	if !expires.IsZero() {
		c.Expires = expires
	}
	return c
}
