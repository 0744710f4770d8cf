// Package cors is the cross-origin policy shared by the hub's endpoints and
// the Mercure endpoint: which browser origins may read their answers (and
// with credentials), the headers of a CORS answer and of a preflight, and
// the log line that tells an operator why a page's requests are refused.
package cors

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Allowed matches a browser origin ("https://app.example.com:8443")
// against patterns: exact origins, "scheme://*.domain" for every subdomain,
// "scheme://host:*" for any port, and "*". wildcard is true when only "*"
// matched: such an origin may read public answers but must not be trusted
// with credentials.
func Allowed(patterns []string, origin string) (allowed, wildcard bool) {
	oScheme, oHost, oOK := strings.Cut(origin, "://")
	for _, p := range patterns {
		if p == "*" {
			wildcard = true
			continue
		}
		if p == origin {
			return true, false
		}
		scheme, host, ok := strings.Cut(p, "://")
		if !ok || !oOK || scheme != oScheme {
			continue
		}
		if h, anyPort := strings.CutSuffix(host, ":*"); anyPort {
			oh := oHost
			if i := strings.LastIndexByte(oh, ':'); i >= 0 && !strings.HasSuffix(oh, "]") {
				oh = oh[:i]
			}
			if h == oh || (strings.HasPrefix(h, "*.") && strings.HasSuffix(oh, h[1:])) {
				return true, false
			}
			continue
		}
		if strings.HasPrefix(host, "*.") && strings.HasSuffix(oHost, host[1:]) {
			return true, false
		}
	}
	return wildcard, wildcard
}

// Policy is the cross-origin policy of one endpoint. Its zero value allows
// no other origin. A Policy is safe for concurrent use once in service.
type Policy struct {
	// Origins are the allowed origin patterns (see Allowed).
	Origins []string
	// Expose is the Access-Control-Expose-Headers value of allowed answers.
	Expose string
	// Setting names the configuration that allows an origin, for the log
	// line and the refusal ("cors_origins").
	Setting string
	// Logger, when set, is told once per origin that an origin was refused
	// (at most maxLogged origins, then once that it stopped), so that a
	// page whose stream stays empty has its explanation in the log.
	Logger *slog.Logger

	mu      sync.Mutex
	logged  map[string]bool
	stopped bool // maxLogged origins were logged
}

// maxLogged bounds the refused origins a Policy remembers, so that hostile
// Origin headers cannot grow it.
const maxLogged = 1000

// Apply sets the CORS headers of the answer to r and answers an OPTIONS
// request itself: a preflight from an allowed origin with the methods and
// headers the endpoints take, one from another origin through refuse (403),
// a plain OPTIONS with 204. It reports whether the request should go on to
// the endpoint.
func (p *Policy) Apply(w http.ResponseWriter, r *http.Request, refuse func(w http.ResponseWriter, msg string)) bool {
	origin := r.Header.Get("Origin")
	hd := w.Header()
	if len(p.Origins) > 0 {
		hd.Add("Vary", "Origin")
	}
	allowed, wildcard := false, false
	if origin != "" {
		allowed, wildcard = Allowed(p.Origins, origin)
		if !allowed && origin != sameOrigin(r) {
			p.refused(origin)
		}
	}
	if allowed {
		if wildcard {
			// A wildcard never goes with credentials: browsers refuse it.
			hd.Set("Access-Control-Allow-Origin", "*")
		} else {
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Set("Access-Control-Allow-Credentials", "true")
		}
		if p.Expose != "" {
			hd.Set("Access-Control-Expose-Headers", p.Expose)
		}
	}
	if r.Method != http.MethodOptions {
		return true
	}
	preflight := r.Header.Get("Access-Control-Request-Method") != ""
	if preflight && !allowed {
		refuse(w, "origin "+strconv.Quote(origin)+" is not allowed; add it to "+p.setting())
		return false
	}
	hd.Set("Allow", "GET, HEAD, POST, OPTIONS")
	if preflight {
		hd.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, Cache-Control")
		hd.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
	return false
}

func (p *Policy) setting() string {
	if p.Setting == "" {
		return "the allowed origins"
	}
	return p.Setting
}

// refused logs the first refusal of origin.
func (p *Policy) refused(origin string) {
	if p.Logger == nil {
		return
	}
	p.mu.Lock()
	if p.logged == nil {
		p.logged = make(map[string]bool)
	}
	if p.logged[origin] || p.stopped {
		p.mu.Unlock()
		return
	}
	if len(p.logged) >= maxLogged {
		p.stopped = true
		p.mu.Unlock()
		p.Logger.Warn("cross-origin requests refused from many origins; no longer logging new ones", "setting", p.setting())
		return
	}
	p.logged[origin] = true
	p.mu.Unlock()
	p.Logger.Warn("refused a cross-origin request: the page's origin is not allowed, so the browser will not let it read the answer; allow it in "+p.setting()+` (or "*" for every origin, without cookies)`, "origin", origin)
}

// sameOrigin is the origin of the server as r reached it.
func sameOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
