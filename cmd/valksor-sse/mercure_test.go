package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// mercureSecret is the Symfony recipe's MERCURE_JWT_SECRET.
const mercureSecret = "!ChangeThisMercureHubJWTSecretKey!"

// mercureEnv enables the Mercure hub with the secret.
var mercureEnv = []string{
	"VALKSOR_SSE_MERCURE_ENABLED=true",
	"VALKSOR_SSE_MERCURE_PUBLISHER_KEY=" + mercureSecret,
	"VALKSOR_SSE_MERCURE_ANONYMOUS=true",
	"VALKSOR_SSE_MERCURE_SUBSCRIPTIONS=true",
}

// mercureToken signs a token of the widely deployed draft with s.
func mercureToken(t *testing.T, s *jwt.Signer, scopes jwt.Scopes) string {
	t.Helper()
	tok, err := s.Sign(jwt.Claims{Mercure: &scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mercurePost publishes a form to the server's Mercure hub.
func mercurePost(t *testing.T, s *server, token string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", s.port, mercure.Path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMercureServe runs the server with the Mercure hub on: Mercure and
// native subscribers see each other's updates on one hub, and the
// subscriptions API lists the Mercure subscriptions.
func TestMercureServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startEnv(t, dir, mercureEnv, "--port", "0")
	hubURL := fmt.Sprintf("http://127.0.0.1:%d%s", s.port, mercure.Path)
	signer, err := jwt.NewSigner("HS256", []byte(mercureSecret))
	if err != nil {
		t.Fatal(err)
	}
	pub := mercureToken(t, signer, jwt.Scopes{Publish: jwt.Patterns{"*"}})

	// A Mercure subscriber (the client speaks ?topic=, as Mercure 0.x does)
	// and a native one, on the same topic.
	mercureEvents := subscribe(t, hubURL, "https://example.com/books/{id}")
	nativeEvents := subscribe(t, s.url(), "https://example.com/books/1")

	status, id := mercurePost(t, s, pub, url.Values{"topic": {"https://example.com/books/1"}, "data": {"{\"title\":\"Dune\"}\nsecond line"}, "type": {"book"}})
	if status != http.StatusOK {
		t.Fatalf("Mercure publish: %d %s", status, id)
	}
	if e := expect(t, mercureEvents, "book"); e.ID != id || e.Data != "{\"title\":\"Dune\"}\nsecond line" {
		t.Fatalf("Mercure subscriber got %+v, want %s", e, id)
	}
	if e := expect(t, nativeEvents, "book"); e.ID != id {
		t.Fatalf("native subscriber got %+v, want %s", e, id)
	}

	// The publish command (the native endpoint) reaches Mercure subscribers.
	if _, stderr, code := run(t, dir, "publish", "book", "--topic", "https://example.com/books/2", "--data", `{"n":2}`, "--port", fmt.Sprint(s.port)); code != 0 {
		t.Fatalf("publish: %d %s", code, stderr)
	}
	if e := expect(t, mercureEvents, "book"); e.Data != `{"n":2}` {
		t.Fatalf("Mercure subscriber got %+v", e)
	}

	// Under-scoped tokens are refused.
	narrow := mercureToken(t, signer, jwt.Scopes{Publish: jwt.Patterns{"https://example.com/authors/1"}})
	if status, body := mercurePost(t, s, narrow, url.Values{"topic": {"https://example.com/books/1"}}); status != http.StatusForbidden {
		t.Fatalf("under-scoped publish: %d %s", status, body)
	}

	// The subscriptions API, with a subscriber token for it.
	reader := mercureToken(t, signer, jwt.Scopes{Subscribe: jwt.Patterns{"/.well-known/mercure/subscriptions"}})
	req, _ := http.NewRequest(http.MethodGet, hubURL+"/subscriptions", nil)
	req.Header.Set("Authorization", "Bearer "+reader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc mercure.SubscriptionsDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("subscriptions API: %d %v", resp.StatusCode, err)
	}
	if len(doc.Subscriptions) != 1 || doc.Subscriptions[0].Topic != "https://example.com/books/{id}" {
		t.Fatalf("subscriptions API: %+v", doc)
	}
	// The current protocol's cursor: the hub's newest event id.
	if got, want := resp.Header.Get("Link"), "<"+hubURL+`>; rel="mercure"; last-event-id="`; !strings.HasPrefix(got, want) {
		t.Errorf("Link = %q, want it to start with %q", got, want)
	}
}

// TestMercureKeyFile verifies publisher tokens with an ECDSA public key
// named by a relative "file:" path, and reports a key that cannot be
// loaded as a 503 on the endpoint.
func TestMercureKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "config/jwt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config/jwt/public.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startEnv(t, dir, []string{"VALKSOR_SSE_MERCURE_ENABLED=true", "VALKSOR_SSE_MERCURE_PUBLISHER_KEY=file:config/jwt/public.pem", "VALKSOR_SSE_MERCURE_ANONYMOUS=true"}, "--port", "0")
	signer, err := jwt.NewSigner("", priv)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := mercurePost(t, s, mercureToken(t, signer, jwt.Scopes{Publish: jwt.Patterns{"*"}}), url.Values{"topic": {"x"}}); status != http.StatusOK {
		t.Fatalf("publish with an ES256 token: %d %s", status, body)
	}
	hmac, _ := jwt.NewSigner("HS256", []byte(mercureSecret))
	if status, _ := mercurePost(t, s, mercureToken(t, hmac, jwt.Scopes{Publish: jwt.Patterns{"*"}}), url.Values{"topic": {"x"}}); status != http.StatusUnauthorized {
		t.Fatalf("publish with an HS256 token: %d, want 401", status)
	}

	broken := startEnv(t, t.TempDir(), []string{"VALKSOR_SSE_MERCURE_ENABLED=true", "VALKSOR_SSE_MERCURE_PUBLISHER_KEY=file:missing.pem"}, "--port", "0")
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s?topic=x", broken.port, mercure.Path))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "valksor.sse.mercure.publisher_key") {
		t.Fatalf("missing key file: %d %s", resp.StatusCode, b)
	}
	// The logger holds what it logged while starting until the listening
	// line is out, so the record may follow that line.
	broken.awaitLog("the missing key to be logged", regexp.MustCompile(`the Mercure hub is not available`))
}

// TestMercureConfig: the hub is off by default, and enabling it without a
// key stops the server with the key's name.
func TestMercureConfig(t *testing.T) {
	t.Parallel()
	s := start(t, t.TempDir(), "--port", "0")
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s?topic=x", s.port, mercure.Path))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("Mercure endpoint without mercure.enabled: %d, want 404", resp.StatusCode)
	}

	bad := startNoWaitEnv(t, t.TempDir(), []string{"VALKSOR_SSE_MERCURE_ENABLED=true"}, "--port", "0")
	if code := bad.exited(); code == 0 || !strings.Contains(bad.stderr.String(), "valksor.sse.mercure.enabled: true needs mercure.publisher_key") {
		t.Fatalf("exit %d:\n%s", code, bad.stderr)
	}
}

// TestMercureRedis runs two servers on one Redis: an update published to
// one server's Mercure hub reaches the Mercure and native subscribers of
// both, and a Mercure subscriber resumes on the other server.
func TestMercureRedis(t *testing.T) {
	t.Parallel()
	redisURL := testRedis(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	env := append([]string{"VALKSOR_SSE_TRANSPORT=" + redisURL, "VALKSOR_SSE_REDIS_PREFIX=mercure-" + hex.EncodeToString(b[:])}, mercureEnv...)
	a := startEnv(t, t.TempDir(), env, "--port", "0")
	c := startEnv(t, t.TempDir(), env, "--port", "0")
	hubOf := func(s *server) string { return fmt.Sprintf("http://127.0.0.1:%d%s", s.port, mercure.Path) }
	signer, err := jwt.NewSigner("HS256", []byte(mercureSecret))
	if err != nil {
		t.Fatal(err)
	}
	pub := mercureToken(t, signer, jwt.Scopes{Publish: jwt.Patterns{"*"}})

	onA := subscribe(t, hubOf(a), "https://example.com/books/{id}")
	nativeOnA := subscribe(t, a.url(), "https://example.com/books/1")
	first := publishOn(t, c, pub, "1")
	for name, events := range map[string]<-chan client.Event{"Mercure": onA, "native": nativeOnA} {
		if e := expect(t, events, "book"); e.ID != first {
			t.Fatalf("%s subscriber on the other server got %+v, want %s", name, e, first)
		}
	}
	second := publishOn(t, a, pub, "2")
	// A Mercure client resuming on the other server gets what followed.
	resumed := subscribe(t, hubOf(c)+"?lastEventID="+url.QueryEscape(first), "https://example.com/books/{id}")
	if e := expect(t, resumed, "book"); e.ID != second {
		t.Fatalf("resumed on the other server at %+v, want %s", e, second)
	}
}

// publishOn publishes a book update to s's Mercure hub and returns its id.
func publishOn(t *testing.T, s *server, token, n string) string {
	t.Helper()
	status, body := mercurePost(t, s, token, url.Values{"topic": {"https://example.com/books/" + n}, "type": {"book"}, "data": {n}})
	if status != http.StatusOK {
		t.Fatalf("publish on port %d: %d %s", s.port, status, body)
	}
	return body
}
