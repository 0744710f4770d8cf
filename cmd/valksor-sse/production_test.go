package main_test

// Tests of the production features against the real binary (built with
// -race by TestMain): JWT authorization, private events on the wire, rate
// limits, the origin check of cookie publishes, metrics, readiness, access
// logs, TLS with HTTP/2 and HTTP/1.1, the token command, and the systemd
// unit.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"github.com/valksor/go-sse/internal/proctest"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/valksor/go-sse/jwt"
)

const (
	prodPubSecret   = "publisher-secret-0123456789abcdef"
	prodOtherSecret = "another-secret-0123456789abcdefghij"
	prodStatic      = "static-token-0123456789"
)

// prodServer is a valksor-sse process started for these tests.
type prodServer struct {
	*server
	scheme string
}

// startProd runs `valksor-sse serve --host 127.0.0.1 --port 0 args...` in
// dir with env and waits until it listens.
func startProd(t *testing.T, dir string, env []string, args ...string) *prodServer {
	t.Helper()
	s := startNoWaitEnv(t, dir, env, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("valksor-sse stderr:\n%s", s.stderr)
		}
	})
	m := s.awaitLog("the server to listen", proctest.Listening)
	s.port, _ = strconv.Atoi(m[3])
	return &prodServer{server: s, scheme: m[1]}
}

// at is the URL of path on the server.
func (s *prodServer) at(path string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d%s", s.scheme, s.port, path)
}

// prodReq describes a request: headers, cookies and an optional JSON body.
type prodReq struct {
	header map[string]string
	cookie *http.Cookie
	body   string
}

// prodDo sends a request and returns the response with its body read.
func prodDo(t *testing.T, c *http.Client, method, u string, r prodReq) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func bearerHdr(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// prodEvent is one event read from a stream.
type prodEvent struct{ ID, Type, Data string }

// prodStream is an open event stream read on a goroutine.
type prodStream struct {
	t      *testing.T
	resp   *http.Response
	events chan prodEvent
	ended  chan struct{}
}

// openStream opens u with the client and request details, and waits for
// the connected event. It fails the test unless the answer is 200.
func openStream(t *testing.T, c *http.Client, u string, r prodReq) *prodStream {
	t.Helper()
	s, status, body := tryStream(t, c, u, r)
	if status != http.StatusOK {
		t.Fatalf("stream %s: %d %s", u, status, body)
	}
	if e := s.next(); e.Type != "connected" {
		t.Fatalf("first event %+v, want connected", e)
	}
	return s
}

// tryStream opens a stream and returns it, or the status and body of a
// refusal.
func tryStream(t *testing.T, c *http.Client, u string, r prodReq) (*prodStream, int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, string(b)
	}
	s := &prodStream{t: t, resp: resp, events: make(chan prodEvent, 256), ended: make(chan struct{})}
	go s.read()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-s.ended })
	return s, http.StatusOK, ""
}

// read parses events until the stream ends.
func (s *prodStream) read() {
	defer close(s.ended)
	br := bufio.NewReader(s.resp.Body)
	var e prodEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if e.Type != "" || len(data) > 0 {
				e.Data = strings.Join(data, "\n")
				if e.Type == "" {
					e.Type = "message"
				}
				s.events <- e
			}
			e, data = prodEvent{}, nil
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			e.ID = value
		case "event":
			e.Type = value
		case "data":
			data = append(data, value)
		}
	}
}

// next returns the next event other than a ping.
func (s *prodStream) next() prodEvent {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-s.events:
			if e.Type != "ping" {
				return e
			}
		case <-s.ended:
			s.t.Fatal("the stream ended")
		case <-timeout:
			s.t.Fatal("no event within 10s")
		}
	}
}

// close ends the stream from the client side.
func (s *prodStream) close() {
	s.resp.Body.Close()
	<-s.ended
}

// prodSign mints a token; key is a secret string or a private key.
func prodSign(t *testing.T, alg string, key any, c jwt.Claims) string {
	t.Helper()
	if s, ok := key.(string); ok {
		key = []byte(s)
	}
	tok, err := gojwt.NewWithClaims(gojwt.GetSigningMethod(alg), c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// prodClaims are valid for an hour from now.
func prodClaims(publish, subscribe []string) jwt.Claims {
	return jwt.Claims{
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(time.Hour))},
		Valksor:          &jwt.Scopes{Publish: publish, Subscribe: subscribe},
	}
}

// prodUnsigned is an alg-none token.
func prodUnsigned(c jwt.Claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// prodECKey writes an ECDSA P-256 key pair's public half as PEM into dir
// and returns the private key and the public key file.
func prodECKey(t *testing.T, dir string) (*ecdsa.PrivateKey, string, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	path := filepath.Join(dir, "subscriber.pem")
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return k, path, pemBytes
}

// checkRefusal checks status, the RFC 6750 challenge and the description.
func checkRefusal(t *testing.T, what string, resp *http.Response, body string, status int, code, says string) {
	t.Helper()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != status || !strings.HasPrefix(ch, `Bearer realm="valksor-sse"`) {
		t.Fatalf("%s: %d %q %s; want %d with a Bearer challenge", what, resp.StatusCode, ch, body, status)
	}
	if code == "" {
		if strings.Contains(ch, "error=") {
			t.Fatalf("%s: challenge %q has an error code; a request without credentials gets none (RFC 6750 3.1)", what, ch)
		}
		return
	}
	if !strings.Contains(ch, `error="`+code+`"`) || !strings.Contains(ch, "error_description=") || !strings.Contains(ch, says) {
		t.Fatalf("%s: challenge %q, want error=%q and a description containing %q", what, ch, code, says)
	}
}

// TestProdAuthMatrix refuses every token defect on both endpoints, with the
// right status and challenge, over the real server.
func TestProdAuthMatrix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	subKey, subPath, subPEM := prodECKey(t, dir)
	otherKey, _, _ := prodECKey(t, t.TempDir())
	s := startProd(t, dir, []string{
		"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodPubSecret,
		"VALKSOR_SSE_AUTH_SUBSCRIBER_KEY=file:" + filepath.Base(subPath), // relative to the working directory
	})
	c := &http.Client{Timeout: 10 * time.Second}
	good := prodClaims([]string{"orders/*"}, []string{"orders/*"})
	expired := good
	expired.ExpiresAt = gojwt.NewNumericDate(time.Now().Add(-time.Minute))
	early := good
	early.NotBefore = gojwt.NewNumericDate(time.Now().Add(time.Hour))
	early.ExpiresAt = gojwt.NewNumericDate(time.Now().Add(2 * time.Hour))
	subToken := prodSign(t, "ES256", subKey, good)
	pubToken := prodSign(t, "HS256", prodPubSecret, good)
	event := `{"type":"order","topic":"orders/1","data":{"n":1}}`

	publishes := []struct {
		name   string
		req    prodReq
		status int
		code   string
		says   string
	}{
		{"no token", prodReq{}, 401, "", ""},
		{"alg none", prodReq{header: bearerHdr(prodUnsigned(good))}, 401, "invalid_token", "alg none"},
		{"wrong algorithm", prodReq{header: bearerHdr(prodSign(t, "HS512", prodPubSecret, good))}, 401, "invalid_token", "algorithm 'HS512' is not accepted"},
		{"bad signature", prodReq{header: bearerHdr(prodSign(t, "HS256", prodOtherSecret, good))}, 401, "invalid_token", "signature does not verify with the publisher key"},
		{"expired", prodReq{header: bearerHdr(prodSign(t, "HS256", prodPubSecret, expired))}, 401, "invalid_token", "the token expired at"},
		{"not yet valid", prodReq{header: bearerHdr(prodSign(t, "HS256", prodPubSecret, early))}, 401, "invalid_token", "not valid before"},
		{"malformed", prodReq{header: bearerHdr("not-a-jwt")}, 401, "invalid_token", "malformed"},
		{"subscriber token", prodReq{header: bearerHdr(subToken)}, 401, "invalid_token", "algorithm 'ES256' is not accepted for publisher tokens"},
		{"no publish claim", prodReq{header: bearerHdr(prodSign(t, "HS256", prodPubSecret, prodClaims(nil, []string{"*"})))}, 403, "insufficient_scope", "no publish claim"},
		{"topic not covered", prodReq{header: bearerHdr(prodSign(t, "HS256", prodPubSecret, prodClaims([]string{"users/*"}, nil)))}, 403, "insufficient_scope", "does not cover topic 'orders/1'"},
	}
	for _, tt := range publishes {
		tt.req.body = event
		resp, body := prodDo(t, c, "POST", s.at("/sse/publish"), tt.req)
		checkRefusal(t, "publish with "+tt.name, resp, body, tt.status, tt.code, tt.says)
	}
	for name, r := range map[string]prodReq{
		"bearer": {header: bearerHdr(pubToken), body: event},
		"cookie": {cookie: &http.Cookie{Name: jwt.DefaultCookie, Value: pubToken}, body: event},
		"query":  {body: event},
	} {
		u := s.at("/sse/publish")
		if name == "query" {
			u += "?authorization=" + url.QueryEscape(pubToken)
		}
		if resp, body := prodDo(t, c, "POST", u, r); resp.StatusCode != 200 {
			t.Fatalf("publish with a valid token by %s: %d %s", name, resp.StatusCode, body)
		}
	}

	confused := prodSign(t, "HS256", string(subPEM), good) // the public key as an HMAC secret
	streams := []struct {
		name   string
		u      string
		req    prodReq
		status int
		code   string
		says   string
	}{
		{"alg none", "/sse?topic=orders/1", prodReq{header: bearerHdr(prodUnsigned(good))}, 401, "invalid_token", "alg none"},
		{"key confusion", "/sse?topic=orders/1", prodReq{header: bearerHdr(confused)}, 401, "invalid_token", "algorithm 'HS256' is not accepted for subscriber tokens"},
		{"publisher token", "/sse?topic=orders/1", prodReq{header: bearerHdr(pubToken)}, 401, "invalid_token", "not accepted for subscriber tokens"},
		{"bad signature", "/sse?topic=orders/1", prodReq{header: bearerHdr(prodSign(t, "ES256", otherKey, good))}, 401, "invalid_token", "signature does not verify with the subscriber key"},
		{"expired", "/sse?topic=orders/1", prodReq{header: bearerHdr(prodSign(t, "ES256", subKey, expired))}, 401, "invalid_token", "the token expired at"},
		{"not yet valid", "/sse?topic=orders/1", prodReq{header: bearerHdr(prodSign(t, "ES256", subKey, early))}, 401, "invalid_token", "not valid before"},
		{"bad query token", "/sse?topic=orders/1&authorization=x.y.z", prodReq{}, 401, "invalid_token", "malformed"},
		{"bad cookie", "/sse?topic=orders/1", prodReq{cookie: &http.Cookie{Name: jwt.MercureCookie, Value: "garbage"}}, 401, "invalid_token", "malformed"},
	}
	for _, tt := range streams {
		_, status, body := tryStream(t, c, s.at(tt.u), tt.req)
		if status != tt.status {
			t.Fatalf("stream with %s: %d %s, want %d", tt.name, status, body, tt.status)
		}
		// The challenge is checked on a plain request (tryStream drops it).
		resp, body := prodDo(t, c, "GET", s.at(tt.u), tt.req)
		checkRefusal(t, "stream with "+tt.name, resp, body, tt.status, tt.code, tt.says)
	}
	openStream(t, c, s.at("/sse?topic=orders/1"), prodReq{})                            // anonymous: public events
	openStream(t, c, s.at("/sse?topic=orders/1"), prodReq{header: bearerHdr(subToken)}) // a valid subscriber

	// A server without anonymous subscribers: the token must cover every topic.
	closed := startProd(t, t.TempDir(), []string{
		"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodPubSecret,
		"VALKSOR_SSE_AUTH_ANONYMOUS_SUBSCRIBE=false",
	})
	resp, body := prodDo(t, c, "GET", closed.at("/sse?topic=orders/1"), prodReq{})
	checkRefusal(t, "closed server without a token", resp, body, 401, "", "")
	if !strings.Contains(body, "needs a token to subscribe") {
		t.Fatalf("body %q does not say why", body)
	}
	tok := prodSign(t, "HS256", prodPubSecret, prodClaims(nil, []string{"orders/*"}))
	resp, body = prodDo(t, c, "GET", closed.at("/sse?topic=orders/1&topic=users/1"), prodReq{header: bearerHdr(tok)})
	checkRefusal(t, "closed server, topic not covered", resp, body, 403, "insufficient_scope", "does not cover topic 'users/1'")
	openStream(t, c, closed.at("/sse?topic=orders/1"), prodReq{header: bearerHdr(tok)})
}

// TestProdPrivateEventsOnTheWire publishes private events and reads every
// stream's bytes: anonymous and under-scoped streams never see them, live
// or replayed, and a stream ends when its token expires.
func TestProdPrivateEventsOnTheWire(t *testing.T) {
	t.Parallel()
	s := startProd(t, t.TempDir(), []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodPubSecret})
	c := &http.Client{}
	sub := func(patterns ...string) string { return prodSign(t, "HS256", prodPubSecret, prodClaims(nil, patterns)) }
	mercureTok := prodSign(t, "HS256", prodPubSecret, jwt.Claims{Mercure: &jwt.Scopes{Subscribe: []string{"*"}}})
	publisher := prodSign(t, "HS256", prodPubSecret, prodClaims([]string{"orders/*"}, nil))
	u := s.at("/sse?topic=orders/1")

	streams := map[string]*prodStream{
		"anonymous":     openStream(t, c, u, prodReq{}),
		"under-scoped":  openStream(t, c, u, prodReq{header: bearerHdr(sub("users/*", "orders/2"))}),
		"scoped query":  openStream(t, c, u+"&authorization="+url.QueryEscape(sub("orders/*")), prodReq{}),
		"scoped cookie": openStream(t, c, u, prodReq{cookie: &http.Cookie{Name: jwt.DefaultCookie, Value: sub("orders/1")}}),
		"mercure token": openStream(t, c, u, prodReq{header: bearerHdr(mercureTok)}),
	}
	publish := func(body string) string {
		t.Helper()
		resp, b := prodDo(t, c, "POST", s.at("/sse/publish"), prodReq{header: bearerHdr(publisher), body: body})
		if resp.StatusCode != 200 {
			t.Fatalf("publish %s: %d %s", body, resp.StatusCode, b)
		}
		var out struct{ ID string }
		_ = json.Unmarshal([]byte(b), &out)
		return out.ID
	}
	before := publish(`{"type":"before","topic":"orders/1"}`)
	publish(`{"type":"secret","topic":"orders/1","private":true,"data":"the private data"}`)
	publish(`{"type":"marker","topic":"orders/1"}`)
	for name, st := range streams {
		if e := st.next(); e.Type != "before" {
			t.Fatalf("%s: got %+v, want before", name, e)
		}
		e := st.next()
		private := name != "anonymous" && name != "under-scoped"
		if private {
			if e.Type != "secret" || e.Data != "the private data" {
				t.Fatalf("%s: got %+v, want the private event", name, e)
			}
			e = st.next()
		}
		if e.Type != "marker" {
			t.Fatalf("%s: got %+v, want marker (private events never reach it)", name, e)
		}
	}
	// Replays filter the same way.
	for name, r := range map[string]prodReq{
		"anonymous":    {header: map[string]string{"Last-Event-ID": before}},
		"under-scoped": {header: map[string]string{"Last-Event-ID": before, "Authorization": "Bearer " + sub("users/*")}},
		"scoped":       {header: map[string]string{"Last-Event-ID": before, "Authorization": "Bearer " + sub("orders/*")}},
	} {
		st := openStream(t, c, u, r)
		e := st.next()
		if name == "scoped" {
			if e.Type != "secret" {
				t.Fatalf("replay to %s: got %+v, want the private event", name, e)
			}
			e = st.next()
		}
		if e.Type != "marker" {
			t.Fatalf("replay to %s: got %+v, want marker", name, e)
		}
	}
	// A stream holding a token that expires in two seconds is closed then.
	short := jwt.Claims{RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(2 * time.Second))}}
	st := openStream(t, c, u, prodReq{header: bearerHdr(prodSign(t, "HS256", prodPubSecret, short))})
	select {
	case <-st.ended:
	case <-time.After(15 * time.Second):
		t.Fatal("the stream outlived its token by more than 13s")
	}
}

// sourceClient dials from a given loopback address, so that the server
// sees another client IP.
func sourceClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// health reads the health endpoint's details, which need the publish token.
func health(t *testing.T, s *prodServer) (status string, connections int) {
	t.Helper()
	resp, body := prodDo(t, http.DefaultClient, "GET", s.at("/sse/healthz"), prodReq{header: bearerHdr(prodStatic)})
	var h struct {
		Status      string `json:"status"`
		Connections int    `json:"connections"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	return h.Status, h.Connections
}

// scrapeMetrics reads /metrics into "name{labels}" -> value.
func scrapeMetrics(t *testing.T, s *prodServer, c *http.Client) map[string]float64 {
	t.Helper()
	resp, body := prodDo(t, c, "GET", s.at("/metrics"), prodReq{})
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// waitFor polls cond until it holds, for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.Await(t, 10*time.Second, what, cond)
}

// TestProdLimits exceeds the per-IP stream cap and the publish rate: 429
// with Retry-After and a reason, X-Forwarded-For from an untrusted peer is
// ignored, and the server stays healthy for everyone else.
func TestProdLimits(t *testing.T) {
	t.Parallel()
	s := startProd(t, t.TempDir(), []string{
		"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic,
		"VALKSOR_SSE_LIMITS_STREAMS_PER_IP=2",
		"VALKSOR_SSE_LIMITS_PUBLISHES_PER_SECOND=1",
	})
	one, two := sourceClient("127.0.0.1"), sourceClient("127.0.0.2")
	u := s.at("/sse")
	first := openStream(t, one, u, prodReq{})
	openStream(t, one, u, prodReq{})
	for _, r := range []prodReq{{}, {header: map[string]string{"X-Forwarded-For": "198.51.100.9"}}} {
		resp, body := prodDo(t, one, "GET", u, r)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(body, "too many open streams from 127.0.0.1: the limit is 2") {
			t.Fatalf("third stream (X-Forwarded-For %q): %d %q %q", r.header["X-Forwarded-For"], resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	// Everyone else is fine: another client streams, publishes reach all.
	other := openStream(t, two, u, prodReq{})
	if status, n := health(t, s); status != "ok" || n != 3 {
		t.Fatalf("health: %s with %d streams", status, n)
	}
	resp, body := prodDo(t, two, "POST", s.at("/sse/publish"), prodReq{header: bearerHdr(prodStatic), body: `{"type":"hello"}`})
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	if first.next().Type != "hello" || other.next().Type != "hello" {
		t.Fatal("the event did not reach the streams")
	}
	// A closed stream frees its slot.
	first.close()
	waitFor(t, "the server to notice the closed stream", func() bool { _, n := health(t, s); return n == 2 })
	openStream(t, one, u, prodReq{})

	// Publishes: a burst of two per second per token (one was used above),
	// then 429.
	var statuses []int
	var refused string
	for range 10 {
		resp, body := prodDo(t, one, "POST", s.at("/sse/publish"), prodReq{header: bearerHdr(prodStatic), body: `{"type":"x"}`})
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 429 && refused == "" {
			refused = resp.Header.Get("Retry-After") + " " + body
		}
	}
	if statuses[0] != 200 || !slices.Contains(statuses, 429) || !strings.HasPrefix(refused, "1 too many publishes from this token") {
		t.Fatalf("publish statuses %v, refusal %q", statuses, refused)
	}
	m := scrapeMetrics(t, s, two)
	if m[`valksor_sse_streams_opened_total{result="limited"}`] < 2 || m[`valksor_sse_rate_limited_total{limit="streams_per_ip"}`] < 2 ||
		m[`valksor_sse_rate_limited_total{limit="publishes_per_second"}`] < 1 || m[`valksor_sse_streams_opened_total{result="ok"}`] != 4 {
		t.Fatalf("metrics: limited %v, streams_per_ip %v, publishes %v, ok %v", m[`valksor_sse_streams_opened_total{result="limited"}`],
			m[`valksor_sse_rate_limited_total{limit="streams_per_ip"}`], m[`valksor_sse_rate_limited_total{limit="publishes_per_second"}`], m[`valksor_sse_streams_opened_total{result="ok"}`])
	}
}

// TestProdLimitTrustedProxy believes X-Forwarded-For from a trusted proxy:
// the rightmost untrusted address is the client.
func TestProdLimitTrustedProxy(t *testing.T) {
	t.Parallel()
	s := startProd(t, t.TempDir(), []string{"VALKSOR_SSE_LIMITS_STREAMS_PER_IP=1", "VALKSOR_SSE_LIMITS_TRUSTED_PROXIES=127.0.0.1/32"})
	c := &http.Client{}
	u := s.at("/sse")
	xff := func(v string) prodReq { return prodReq{header: map[string]string{"X-Forwarded-For": v}} }
	openStream(t, c, u, xff("198.51.100.1"))
	openStream(t, c, u, xff("198.51.100.2"))
	for _, v := range []string{"198.51.100.1", "198.51.100.7, 198.51.100.1"} { // a client cannot pose as another by prepending
		resp, body := prodDo(t, c, "GET", u, xff(v))
		if resp.StatusCode != 429 || !strings.Contains(body, "from 198.51.100.1") {
			t.Fatalf("X-Forwarded-For %q: %d %s", v, resp.StatusCode, body)
		}
	}
}

// TestProdCORSCookieOrigin refuses publishes authenticated by cookie from
// origins outside cors_origins (CSRF); bearer publishes are not affected.
func TestProdCORSCookieOrigin(t *testing.T) {
	t.Parallel()
	s := startProd(t, t.TempDir(), []string{
		"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodPubSecret,
		"VALKSOR_SSE_CORS_ORIGINS=https://app.example.com,http://localhost:*,*",
	})
	c := &http.Client{}
	tok := prodSign(t, "HS256", prodPubSecret, prodClaims([]string{"*"}, nil))
	cookie := &http.Cookie{Name: jwt.DefaultCookie, Value: tok}
	mercure := &http.Cookie{Name: jwt.MercureCookie, Value: tok}
	tests := []struct {
		name   string
		req    prodReq
		status int
	}{
		{"cookie from an allowed origin", prodReq{cookie: cookie, header: map[string]string{"Origin": "https://app.example.com"}}, 200},
		{"cookie from a port wildcard", prodReq{cookie: cookie, header: map[string]string{"Origin": "http://localhost:3000"}}, 200},
		{"cookie from the server's own origin", prodReq{cookie: cookie, header: map[string]string{"Origin": fmt.Sprintf("http://127.0.0.1:%d", s.port)}}, 200},
		{"cookie without Origin (not a browser)", prodReq{cookie: cookie}, 200},
		{"cookie from another origin", prodReq{cookie: cookie, header: map[string]string{"Origin": "https://evil.example"}}, 403},
		{"cookie from another origin, * allowed for reading", prodReq{cookie: mercure, header: map[string]string{"Origin": "https://evil.example"}}, 403},
		{"cookie from a null origin", prodReq{cookie: cookie, header: map[string]string{"Origin": "null"}}, 403},
		{"cookie, cross-site fetch metadata", prodReq{cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403},
		{"bearer from another origin", prodReq{header: map[string]string{"Authorization": "Bearer " + tok, "Origin": "https://evil.example"}}, 200},
	}
	for _, tt := range tests {
		tt.req.body = `{"type":"x"}`
		resp, body := prodDo(t, c, "POST", s.at("/sse/publish"), tt.req)
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: %d %s, want %d", tt.name, resp.StatusCode, body, tt.status)
		}
		if tt.status == 403 && !strings.Contains(body, "add the origin to cors_origins") {
			t.Fatalf("%s: body %q does not say what to do", tt.name, body)
		}
	}
	// The preflight a browser sends first, answered by the hub.
	resp, _ := prodDo(t, c, "OPTIONS", s.at("/sse/publish"), prodReq{header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestProdMetricsMove scrapes /metrics while events flow.
func TestProdMetricsMove(t *testing.T) {
	t.Parallel()
	s := startProd(t, t.TempDir(), []string{"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic})
	c := &http.Client{}
	before := scrapeMetrics(t, s, c)
	for _, name := range []string{"go_goroutines", "process_open_fds", "valksor_sse_uptime_seconds"} {
		if _, ok := before[name]; !ok {
			t.Fatalf("/metrics lacks %s", name)
		}
	}
	st := openStream(t, c, s.at("/sse"), prodReq{})
	for i := range 3 {
		resp, body := prodDo(t, c, "POST", s.at("/sse/publish"), prodReq{header: bearerHdr(prodStatic), body: fmt.Sprintf(`{"type":"tick","data":%d}`, i)})
		if resp.StatusCode != 200 {
			t.Fatalf("publish: %d %s", resp.StatusCode, body)
		}
		if e := st.next(); e.Type != "tick" {
			t.Fatalf("got %+v", e)
		}
	}
	if resp, _ := prodDo(t, c, "GET", s.at("/sse?topic="), prodReq{}); resp.StatusCode != 400 {
		t.Fatalf("empty topic: %d", resp.StatusCode)
	}
	after := scrapeMetrics(t, s, c)
	delta := func(name string) float64 { return after[name] - before[name] }
	for name, want := range map[string]float64{
		"valksor_sse_events_published_total":                 3,
		"valksor_sse_deliveries_total":                       3,
		`valksor_sse_streams_opened_total{result="ok"}`:      1,
		`valksor_sse_streams_opened_total{result="refused"}`: 1,
		`valksor_sse_publish_requests_total{code="200"}`:     3,
		"valksor_sse_publish_duration_seconds_count":         3,
	} {
		if got := delta(name); got != want {
			t.Errorf("%s moved by %v, want %v", name, got, want)
		}
	}
	if after["valksor_sse_streams_open"] != 1 {
		t.Errorf("streams open: %v", after["valksor_sse_streams_open"])
	}

	off := startProd(t, t.TempDir(), []string{"VALKSOR_SSE_METRICS=false"})
	if resp, _ := prodDo(t, c, "GET", off.at("/metrics"), prodReq{}); resp.StatusCode != 404 {
		t.Fatalf("metrics: false still serves /metrics: %d", resp.StatusCode)
	}
}

// TestProdAccessLogJSON checks the JSON log format: every line is JSON, a
// request and a stream each get an access line, and query strings (which
// may carry tokens) are never logged.
func TestProdAccessLogJSON(t *testing.T) {
	t.Parallel()
	s := startProd(t, t.TempDir(), []string{"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic, "VALKSOR_SSE_LOG_FORMAT=json"})
	c := &http.Client{}
	st := openStream(t, c, s.at("/sse?authorization=secret-in-the-query"), prodReq{})
	resp, _ := prodDo(t, c, "POST", s.at("/sse/publish?authorization=secret-in-the-query"), prodReq{header: bearerHdr(prodStatic), body: `{"type":"x"}`})
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	st.next()
	st.close()
	type line struct {
		Msg    string `json:"msg"`
		Path   string `json:"path"`
		Status int    `json:"status"`
		End    string `json:"end"`
	}
	var lines []line
	waitFor(t, "the stream's access line", func() bool {
		lines = nil
		for _, l := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
			var v line
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("log line is not JSON: %q", l)
			}
			lines = append(lines, v)
		}
		return slices.ContainsFunc(lines, func(l line) bool { return l.Msg == "stream" && l.End == "client went away" })
	})
	if !slices.ContainsFunc(lines, func(l line) bool { return l.Msg == "request" && l.Path == "/sse/publish" && l.Status == 200 }) {
		t.Fatalf("no access line for the publish in %+v", lines)
	}
	if strings.Contains(s.stderr.String(), "secret-in-the-query") {
		t.Fatal("a query string was logged")
	}
}

// TestProdReadyz reports ready while the transport works and not ready
// when its Redis goes away, while healthz (alive) stays 200.
func TestProdReadyz(t *testing.T) {
	t.Parallel()
	redis := proctest.StartRedis(t)
	port := redis.Port
	s := startProd(t, t.TempDir(), []string{fmt.Sprintf("VALKSOR_SSE_TRANSPORT=redis://127.0.0.1:%d/0", port)})
	c := &http.Client{Timeout: 10 * time.Second}
	if resp, body := prodDo(t, c, "GET", s.at("/sse/readyz"), prodReq{}); resp.StatusCode != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	if up := scrapeMetrics(t, s, c)["valksor_sse_transport_up"]; up != 1 {
		t.Fatalf("valksor_sse_transport_up = %v with Redis up", up)
	}
	redis.Stop()
	var body string
	waitFor(t, "readyz to report the lost transport", func() bool {
		var resp *http.Response
		resp, body = prodDo(t, c, "GET", s.at("/sse/readyz"), prodReq{})
		return resp.StatusCode == 503
	})
	if !strings.Contains(body, `"reason":"degraded"`) {
		t.Fatalf("readyz body: %s", body)
	}
	resp, health := prodDo(t, c, "GET", s.at("/sse/healthz"), prodReq{})
	if resp.StatusCode != 200 || strings.TrimSpace(health) != `{"status":"degraded"}` {
		t.Fatalf("healthz while degraded: %d %s", resp.StatusCode, health)
	}
	// Where Redis is and what went wrong is for the operator, not for
	// anyone who asks.
	for _, answer := range []string{body, health} {
		if strings.Contains(answer, strconv.Itoa(port)) || strings.Contains(answer, "redis") {
			t.Fatalf("a public health answer reveals the transport: %s", answer)
		}
	}
	if up := scrapeMetrics(t, s, c)["valksor_sse_transport_up"]; up != 0 {
		t.Fatalf("valksor_sse_transport_up = %v with Redis down", up)
	}
	waitFor(t, "the degraded state in the log", func() bool {
		return strings.Contains(s.stderr.String(), "health: degraded") && strings.Contains(s.stderr.String(), strconv.Itoa(port))
	})
}

// tlsClient trusts the self-signed certificate in dir; http2 chooses
// whether it offers HTTP/2.
func tlsClient(t *testing.T, certFile string, http2 bool) *http.Client {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no certificate in " + certFile)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(http2)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Protocols: &protos}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// checkTLSStream opens a stream, checks its protocol and that a published
// event arrives.
func checkTLSStream(t *testing.T, s *prodServer, c *http.Client, wantMajor int) {
	t.Helper()
	st := openStream(t, c, s.at("/sse"), prodReq{})
	if st.resp.ProtoMajor != wantMajor || st.resp.TLS == nil {
		t.Fatalf("stream over %s (TLS %v), want HTTP/%d over TLS", st.resp.Proto, st.resp.TLS != nil, wantMajor)
	}
	resp, body := prodDo(t, c, "POST", s.at("/sse/publish"), prodReq{header: bearerHdr(prodStatic), body: `{"type":"over-tls","data":"ok"}`})
	if resp.StatusCode != 200 || resp.ProtoMajor != wantMajor {
		t.Fatalf("publish: %s %d %s", resp.Proto, resp.StatusCode, body)
	}
	if e := st.next(); e.Type != "over-tls" || e.Data != "ok" {
		t.Fatalf("got %+v", e)
	}
}

// TestTLSHTTP2 serves the stream over HTTP/2 with --tls-self-signed, and
// with tls.cert and tls.key.
func TestTLSHTTP2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startProd(t, dir, []string{"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic}, "--tls-self-signed")
	if s.scheme != "https" {
		t.Fatalf("listening on %s", s.scheme)
	}
	certFile := filepath.Join(dir, "var/run/valksor-sse-localhost.crt")
	checkTLSStream(t, s, tlsClient(t, certFile, true), 2)

	// The certificate: ECDSA P-256, localhost and the loopback addresses,
	// one year; the key is private.
	b, _ := os.ReadFile(certFile)
	block, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("certificate key %T", cert.PublicKey)
	}
	ips := fmt.Sprint(cert.IPAddresses)
	if !slices.Equal(cert.DNSNames, []string{"localhost"}) || !strings.Contains(ips, "127.0.0.1") || !strings.Contains(ips, "::1") {
		t.Fatalf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
	}
	if days := time.Until(cert.NotAfter).Hours() / 24; days < 364 || days > 367 {
		t.Fatalf("valid for %.0f days", days)
	}
	if st, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse-localhost.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}

	// The same files through the config keys.
	s2 := startProd(t, t.TempDir(), []string{
		"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic,
		"VALKSOR_SSE_TLS_CERT=" + certFile,
		"VALKSOR_SSE_TLS_KEY=" + filepath.Join(dir, "var/run/valksor-sse-localhost.key"),
	})
	checkTLSStream(t, s2, tlsClient(t, certFile, true), 2)
	// A second start with --tls-self-signed keeps the certificate.
	s.signal(syscall.SIGTERM)
	s.exited()
	startProd(t, dir, []string{"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic}, "--tls-self-signed")
	if again, _ := os.ReadFile(certFile); string(again) != string(b) {
		t.Fatal("the certificate was replaced on restart")
	}
}

// TestTLSHTTP1 serves the same stream over HTTP/1.1 with TLS, for clients
// that do not offer HTTP/2.
func TestTLSHTTP1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startProd(t, dir, []string{"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic}, "--tls-self-signed")
	checkTLSStream(t, s, tlsClient(t, filepath.Join(dir, "var/run/valksor-sse-localhost.crt"), false), 1)
	// Plain HTTP to the TLS port is refused, not served.
	resp, body := prodDo(t, &http.Client{}, "GET", fmt.Sprintf("http://127.0.0.1:%d/sse/healthz", s.port), prodReq{})
	if resp.StatusCode != 400 {
		t.Fatalf("plain HTTP to the TLS port: %d %s", resp.StatusCode, body)
	}
}

// prodRunEnv runs a valksor-sse command with extra environment variables.
func prodRunEnv(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestTokenCommand mints tokens with the CLI and uses them.
func TestTokenCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := "valksor:\n  sse:\n    auth:\n      publisher_key: " + prodPubSecret + "\n"
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := prodRunEnv(t, dir, nil, "token", "--publish", "*", "--subscribe", "orders/*", "--ttl", "1h", "--sub", "script")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	tok := strings.TrimSpace(out)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Exp, Iat int64
		Sub      string
		Valksor  struct{ Publish, Subscribe []string }
	}
	if err := json.Unmarshal(p, &claims); err != nil || !strings.Contains(string(h), `"alg":"HS256"`) {
		t.Fatalf("header %s, payload %s: %v", h, p, err)
	}
	if claims.Exp-claims.Iat != 3600 || claims.Sub != "script" || fmt.Sprint(claims.Valksor.Publish, claims.Valksor.Subscribe) != "[*] [orders/*]" {
		t.Fatalf("claims %+v", claims)
	}
	// The token works on a server with the same config, for both roles.
	s := startProd(t, dir, nil)
	c := &http.Client{}
	st := openStream(t, c, s.at("/sse?topic=orders/1"), prodReq{header: bearerHdr(tok)})
	if resp, body := prodDo(t, c, "POST", s.at("/sse/publish"), prodReq{header: bearerHdr(tok), body: `{"type":"secret","topic":"orders/1","private":true}`}); resp.StatusCode != 200 {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	if e := st.next(); e.Type != "secret" {
		t.Fatalf("got %+v", e)
	}
	// The publish command takes it.
	if _, errOut, code := prodRunEnv(t, dir, nil, "publish", "hello", "--port", strconv.Itoa(s.port), "--token", tok); code != 0 {
		t.Fatalf("publish --token: exit %d: %s", code, errOut)
	}

	// An ECDSA subscriber key: --subscribe needs --key with its private half.
	ecDir := t.TempDir()
	key, pubPath, _ := prodECKey(t, ecDir)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	privPath := filepath.Join(ecDir, "private.pem")
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ecEnv := []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodPubSecret, "VALKSOR_SSE_AUTH_SUBSCRIBER_KEY=file:" + pubPath}
	out, errOut, code = prodRunEnv(t, ecDir, ecEnv, "token", "--subscribe", "*", "--key", "file:"+privPath)
	if code != 0 {
		t.Fatalf("token --key: exit %d: %s", code, errOut)
	}
	ec := startProd(t, ecDir, ecEnv)
	openStream(t, c, ec.at("/sse"), prodReq{header: bearerHdr(strings.TrimSpace(out))})

	for _, tt := range []struct {
		env  []string
		args []string
		code int
		says string
	}{
		{nil, []string{"token", "--publish", "*"}, 1, "auth.publisher_key is not set"},
		{ecEnv, []string{"token", "--subscribe", "*"}, 1, "holds a public key, which only verifies tokens"},
		{ecEnv, []string{"token", "--publish", "*", "--subscribe", "*"}, 1, "mint a publisher token (--publish) and a subscriber token (--subscribe) separately"},
		{ecEnv, []string{"token", "--publish", "*", "--ttl", "0s"}, 2, "want a positive duration"},
		{ecEnv, []string{"token"}, 2, "at least one --publish or --subscribe"},
		{ecEnv, []string{"token", "--publish", "a*b"}, 2, "pattern"},
	} {
		_, errOut, code := prodRunEnv(t, t.TempDir(), tt.env, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.says) {
			t.Errorf("%v: exit %d %q, want %d and %q", tt.args, code, errOut, tt.code, tt.says)
		}
	}
}

// TestSystemdVerify runs systemd-analyze verify on deploy/valksor-sse.service
// in a scratch root holding the system's units and the binary at the
// unit's ExecStart path, so that the unit file itself is checked unchanged.
// Any message counts as a failure: verify exits 0 on unknown keys.
func TestSystemdVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		msg := "systemd-analyze is not installed (Debian package systemd)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root := t.TempDir()
	for _, d := range []string{"usr/lib/systemd", "usr/local/bin", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copy the system units: %v %s", err, out)
	}
	unit, err := os.ReadFile("../../deploy/valksor-sse.service")
	if err != nil {
		t.Fatal(err)
	}
	exe := regexp.MustCompile(`(?m)^ExecStart=(\S+)`).FindSubmatch(unit)
	if exe == nil || string(exe[1]) != "/usr/local/bin/valksor-sse" {
		t.Fatalf("ExecStart is %q", exe)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/local/bin/valksor-sse"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/valksor-sse.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--root="+root, "valksor-sse.service").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
