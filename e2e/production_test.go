package e2e_test

import (
	"context"
	"fmt"
	"github.com/valksor/go-sse/internal/proctest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/valksor/go-sse/jwt"
)

// prodSecret is the HMAC key of the JWT server in these tests.
const prodSecret = "e2e-publisher-secret-0123456789abcdef"

// startProdServer runs `valksor-sse serve` with extra environment
// variables on a free port and waits until it listens.
func startProdServer(t *testing.T, dir string, env []string) *server {
	t.Helper()
	s := &server{t: t, dir: dir, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--host", "127.0.0.1", "--port", "0")
	s.cmd.Dir = dir
	s.cmd.Env = append(cleanEnv(), env...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		proctest.End(s.cmd.Process, s.done)
		if t.Failed() {
			t.Logf("valksor-sse stderr:\n%s", s.stderr)
		}
	})
	s.awaitListening()
	return s
}

// TestProdCORSCookieAuthInChromium runs the browser side of cookie
// authentication: a page on another origin (allowed by cors_origins) reads
// a private event through EventSource({withCredentials: true}) and
// publishes with fetch({credentials: 'include'}), both carrying only the
// HttpOnly auth cookie; a page on an origin that is not allowed can neither
// read the stream nor publish, not even with a simple no-cors POST that the
// browser sends with the cookie (the server refuses it: CSRF).
func TestProdCORSCookieAuthInChromium(t *testing.T) {
	pages := t.TempDir()
	if err := os.WriteFile(filepath.Join(pages, "index.html"), []byte("<!doctype html><title>page</title><p>page</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := newSite(t, pages, nil)  // http://127.0.0.1:<port>, allowed
	evil := newSite(t, pages, nil) // another port: another origin, not allowed
	srv := startProdServer(t, t.TempDir(), []string{
		"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodSecret,
		"VALKSOR_SSE_CORS_ORIGINS=" + app.URL,
	})
	tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, jwt.Claims{
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(time.Hour))},
		Valksor:          &jwt.Scopes{Publish: []string{"orders/*"}, Subscribe: []string{"orders/*"}},
	}).SignedString([]byte(prodSecret))
	if err != nil {
		t.Fatal(err)
	}

	tb := newTab(t)
	// The cookie a login would set on the SSE server: HttpOnly, so page
	// scripts cannot read it, SameSite=Lax (the pages are on the same site,
	// 127.0.0.1, on other ports).
	httpOnly := true
	if _, err := chromedp.Call(tb.ctx, network.SetCookie, network.SetCookieParams{
		Name: jwt.DefaultCookie, Value: tok, URL: srv.url("/"), HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(browser, 5*time.Second)
		defer cancel()
		_, _ = chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: jwt.DefaultCookie, URL: srv.url("/")})
	})
	streamURL := srv.url("/sse?topic=orders/1")
	publishURL := srv.url("/sse/publish")

	tb.navigate(app.URL + "/index.html")
	if got := evalInto[string](tb, `document.cookie`); strings.Contains(got, jwt.DefaultCookie) {
		t.Fatalf("the page can read the HttpOnly cookie: %q", got)
	}
	tb.eval(fmt.Sprintf(`new Promise((ok, fail) => {
		window.__events = [];
		const es = new EventSource(%q, {withCredentials: true});
		for (const type of ['secret', 'csrf', 'marker']) es.addEventListener(type, (e) => __events.push(type + ':' + e.data));
		es.addEventListener('connected', ok);
		es.onerror = () => fail(new Error('EventSource failed, readyState ' + es.readyState));
		window.__es = es;
	})`, streamURL))
	publish := func(tb *tab, typ string) int {
		t.Helper()
		return evalInto[int](tb, fmt.Sprintf(`fetch(%q, {method: 'POST', credentials: 'include',
			headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({type: %q, topic: 'orders/1', private: true, data: %q})}).then((r) => r.status)`, publishURL, typ, typ+"-data"))
	}
	// A credentialed cross-origin fetch: preflight, then the cookie
	// authenticates the publish.
	if status := publish(tb, "secret"); status != 200 {
		t.Fatalf("publish from the allowed page: %d", status)
	}
	tb.waitFor("the private event", `__events.includes('secret:secret-data')`, 10*time.Second)

	// The other origin.
	other := newTab(t)
	other.navigate(evil.URL + "/index.html")
	blocked := evalInto[string](other, fmt.Sprintf(`fetch(%q, {method: 'POST', credentials: 'include',
		headers: {'Content-Type': 'application/json'}, body: JSON.stringify({type: 'csrf', topic: 'orders/1'})})
		.then((r) => 'status ' + r.status, (e) => 'blocked: ' + e.name)`, publishURL))
	if blocked != "blocked: TypeError" {
		t.Fatalf("credentialed fetch from a disallowed origin: %s", blocked)
	}
	readable := evalInto[string](other, fmt.Sprintf(`new Promise((ok) => {
		const es = new EventSource(%q, {withCredentials: true});
		es.addEventListener('connected', () => { es.close(); ok('read the stream'); });
		es.onerror = () => { const s = es.readyState; es.close(); ok('error, readyState ' + s); };
	})`, streamURL))
	if readable != "error, readyState 2" {
		t.Fatalf("EventSource from a disallowed origin: %s", readable)
	}
	// A form-like POST needs no preflight: the browser sends it, cookie
	// included, and only the server's origin check stops it.
	sent := evalInto[string](other, fmt.Sprintf(`fetch(%q, {method: 'POST', mode: 'no-cors', credentials: 'include',
		body: new URLSearchParams({type: 'csrf', topic: 'orders/1', private: 'true', data: 'forged'})}).then((r) => r.type)`, publishURL))
	if sent != "opaque" {
		t.Fatalf("no-cors POST: %s", sent)
	}
	waitUntil(t, "the server to log the refused publish", 10*time.Second, func() bool {
		return strings.Contains(srv.stderr.String(), `method=POST path=/sse/publish proto=HTTP/1.1 client=127.0.0.1 status=403`)
	})
	// A marker published after it arrives alone: the forged event never did.
	if status := publish(tb, "marker"); status != 200 {
		t.Fatalf("marker: %d", status)
	}
	tb.waitFor("the marker", `__events.includes('marker:marker-data')`, 10*time.Second)
	if got := evalInto[[]string](tb, `__events`); strings.Join(got, " ") != "secret:secret-data marker:marker-data" {
		t.Fatalf("events on the allowed page: %q", got)
	}
}
