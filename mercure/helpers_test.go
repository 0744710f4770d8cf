package mercure_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/wire"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// secret signs the test tokens, publisher and subscriber alike (the
// Symfony setup: one MERCURE_JWT_SECRET).
const secret = "!ChangeThisMercureHubJWTSecretKey!"

// env is a hub with the Mercure handler and the native endpoints on one
// real listener.
type env struct {
	t   *testing.T
	hub *sse.Hub
	m   *mercure.Handler
	srv *httptest.Server
}

func newEnv(t *testing.T, cfg mercure.Config, hubOpts ...sse.Option) *env {
	t.Helper()
	key, err := jwt.NewKey("HS256", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublisherKeys == nil {
		cfg.PublisherKeys = []jwt.Key{key}
	}
	hub, err := sse.New(append([]sse.Option{sse.WithPingInterval(0), sse.WithPublishToken("native-token")}, hubOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mercure.New(hub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	hub.Register(mux)
	m.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
	})
	return &env{t: t, hub: hub, m: m, srv: srv}
}

// hubURL is the Mercure endpoint with a query.
func (e *env) hubURL(query url.Values) string {
	u := e.srv.URL + mercure.Path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// stream is an open event stream.
type stream struct {
	t      *testing.T
	resp   *http.Response
	events chan wire.Event
	errs   chan error
	// native is true for a stream of the hub's own endpoint, which has
	// the hub's events (connected, ping, history-gap); a Mercure stream
	// must have none.
	native bool
}

// open starts a GET on url with header and returns the response; the body
// is closed when the test ends.
func (e *env) open(url string, header http.Header) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// subscribe opens a stream and fails the test unless it is answered 200:
// the hub registers a stream before it answers, so from then on it
// delivers to it. A stream of the native endpoint is also read up to its
// connected event.
func (e *env) subscribe(url string, header http.Header) *stream {
	e.t.Helper()
	resp := e.open(url, header)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	s := &stream{t: e.t, resp: resp, events: make(chan wire.Event, 64), errs: make(chan error, 1), native: !strings.Contains(url, mercure.Path)}
	go func() {
		p := wire.NewParser(resp.Body)
		for {
			ev, err := p.Next()
			if err != nil {
				s.errs <- err
				close(s.events)
				return
			}
			s.events <- ev
		}
	}()
	if s.native {
		if ev := s.nextAny(); ev.Type != sse.TypeConnected {
			e.t.Fatalf("first event is %+v, want connected", ev)
		}
	}
	return s
}

// nextAny returns the next event of any type.
func (s *stream) nextAny() wire.Event {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatalf("stream ended: %v", <-s.errs)
		}
		return ev
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10s")
	}
	return wire.Event{}
}

// next returns the next update. The hub's own events (connected, ping,
// history-gap) are skipped on a native stream and fail the test on a
// Mercure stream, whose subscribers would take them for updates.
func (s *stream) next() wire.Event {
	s.t.Helper()
	for {
		ev := s.nextAny()
		switch ev.Type {
		case sse.TypeConnected, sse.TypePing, sse.TypeHistoryGap:
			if !s.native {
				s.t.Fatalf("a Mercure stream received the hub's event %+v", ev)
			}
			continue
		}
		return ev
	}
}

// ended waits for the stream to end.
func (s *stream) ended() {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			s.t.Fatal("the stream did not end within 10s")
		}
	}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request and reads the answer.
func (e *env) do(method, url string, body io.Reader, header http.Header) response {
	e.t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// publish posts an update form with a bearer token ("" for none).
func (e *env) publish(token string, form url.Values) response {
	e.t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return e.do(http.MethodPost, e.hubURL(nil), strings.NewReader(form.Encode()), h)
}

// mustPublish publishes and returns the update's id, failing the test on
// any answer but 200.
func (e *env) mustPublish(token string, form url.Values) string {
	e.t.Helper()
	r := e.publish(token, form)
	if r.status != http.StatusOK || r.body == "" {
		e.t.Fatalf("publish %v: %d %s", form, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		e.t.Fatalf("publish answered Content-Type %q, want text/plain", ct)
	}
	return r.body
}

// sign signs claims with the test secret; typ is the header's typ ("" for
// the default JWT).
func sign(t *testing.T, typ string, claims gojwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	tok := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims)
	if typ != "" {
		tok.Header["typ"] = typ
	}
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// legacyToken returns a token of the widely deployed draft with the
// mercure claim m.
func legacyToken(t *testing.T, m map[string]any) string {
	return sign(t, "", gojwt.MapClaims{"mercure": m})
}

// accessToken returns an at+jwt access token of the current protocol with the
// given authorization details and extra claims.
func accessToken(t *testing.T, details []map[string]any, extra gojwt.MapClaims) string {
	c := gojwt.MapClaims{"iss": "https://auth.example", "aud": "https://hub.example", "sub": "user-1", "authorization_details": details}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return sign(t, "at+jwt", c)
}

// detail is a Mercure authorization detail of the current protocol.
func detail(actions []string, topics ...map[string]string) map[string]any {
	return map[string]any{"type": mercure.DetailType, "actions": actions, "topics": topics}
}

// detail0713 is an authorization detail of the July 2026 draft: type
// mercure, and topics such as {"match": ..., "matchType": "URLPattern"}.
func detail0713(actions []string, topics ...map[string]string) map[string]any {
	return map[string]any{"type": "mercure", "actions": actions, "topics": topics}
}

// publisher is a token allowed to publish anything.
func publisher(t *testing.T) string {
	return legacyToken(t, map[string]any{"publish": []string{"*"}})
}

// form builds an update form.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// bearer is an Authorization header.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// mustContain fails the test unless s contains want.
func mustContain(t *testing.T, what, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Fatalf("%s = %q, want it to contain %q", what, s, want)
	}
}
