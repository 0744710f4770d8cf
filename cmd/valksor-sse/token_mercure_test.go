package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/valksor/go-sse/mercure"
)

// TestTokenMercure mints Mercure tokens with the CLI in both formats and
// publishes with them on a server whose Mercure hub checks the audience.
func TestTokenMercure(t *testing.T) {
	t.Parallel()
	const aud = "https://hub.example/.well-known/mercure"
	env := append([]string{"VALKSOR_SSE_MERCURE_AUDIENCE=" + aud}, mercureEnv...)
	dir := t.TempDir()
	mint := func(args ...string) (header, claims map[string]any, token string) {
		t.Helper()
		out, errOut, code := prodRunEnv(t, dir, env, append([]string{"token", "--key", mercureSecret}, args...)...)
		if code != 0 {
			t.Fatalf("token %v: exit %d: %s", args, code, errOut)
		}
		token = strings.TrimSpace(out)
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q", token)
		}
		for i, dst := range []*map[string]any{&header, &claims} {
			b, _ := base64.RawURLEncoding.DecodeString(parts[i])
			if err := json.Unmarshal(b, dst); err != nil {
				t.Fatalf("token part %d %s: %v", i, b, err)
			}
		}
		return header, claims, token
	}

	h, c, current := mint("--mercure=current", "--match-type", "urlpattern", "--publish", "https://example.com/books/:id", "--sub", "script")
	details, _ := json.Marshal(c["authorization_details"])
	if h["typ"] != "at+jwt" || c["aud"] != aud || c["iss"] != "valksor-sse" || c["sub"] != "script" || c["client_id"] == nil || c["jti"] == nil ||
		string(details) != `[{"actions":["publish"],"topics":[{"match":"https://example.com/books/:id","match_type":"urlpattern"}],"type":"`+mercure.DetailType+`"}]` {
		t.Fatalf("--mercure=current: header %v, claims %v", h, c)
	}
	_, c, legacy := mint("--mercure", "--publish", "https://example.com/authors/{id}")
	if m, _ := json.Marshal(c["mercure"]); string(m) != `{"publish":["https://example.com/authors/{id}"]}` {
		t.Fatalf("--mercure: claims %v", c)
	}

	s := startEnv(t, t.TempDir(), env, "--port", "0")
	for _, tt := range []struct {
		token, topic string
		status       int
	}{
		{current, "https://example.com/books/1", http.StatusOK},
		{current, "https://example.com/authors/1", http.StatusForbidden},
		{legacy, "https://example.com/authors/1", http.StatusOK},
	} {
		if status, body := mercurePost(t, s, tt.token, url.Values{"topic": {tt.topic}}); status != tt.status {
			t.Errorf("publish to %s: %d %s, want %d", tt.topic, status, body, tt.status)
		}
	}

	for _, args := range [][]string{
		{"--mercure=v9", "--publish", "*"},
		{"--mercure=current", "--match-type", "regexp", "--publish", "*"},
		{"--mercure=current", "--match-type", "urlpattern", "--publish", "https://example.com/("},
	} {
		if _, errOut, code := prodRunEnv(t, dir, env, append([]string{"token", "--key", mercureSecret}, args...)...); code != 2 || errOut == "" {
			t.Errorf("token %v: exit %d, %q; want 2 and a message", args, code, errOut)
		}
	}
}
