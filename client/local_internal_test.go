package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestSchemeFallback: a request with the wrong scheme is sent again with
// the right one, body included, both ways; a 400 that is not the TLS
// server's reply reaches the caller whole.
func TestSchemeFallback(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "bad request: the app says so", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		io.WriteString(w, scheme+" "+r.Method+" "+string(b))
	})
	plain := httptest.NewServer(echo)
	defer plain.Close()
	secure := httptest.NewTLSServer(echo)
	defer secure.Close()

	tr := secure.Client().Transport.(*http.Transport).Clone()
	c := &http.Client{Transport: &schemeFallback{next: tr}}
	defer tr.CloseIdleConnections()

	for _, tc := range []struct{ url, want string }{
		{strings.Replace(plain.URL, "http:", "https:", 1), "http POST hello"},
		{strings.Replace(secure.URL, "https:", "http:", 1), "https POST hello"},
		{plain.URL, "http POST hello"},
		{secure.URL, "https POST hello"},
	} {
		resp, err := c.Post(tc.url+"/", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatalf("POST %s: %v", tc.url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("POST %s: %q, want %q", tc.url, b, tc.want)
		}
	}

	resp, err := c.Get(plain.URL + "/bad")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || string(b) != "bad request: the app says so\n" {
		t.Errorf("GET /bad: %d %q, want the app's 400 untouched", resp.StatusCode, b)
	}
}

// countingTransport counts the requests it sends.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// TestSchemeFallbackRemembers: after one fallback, the host's scheme is
// used at once (tail reconnects without a failed handshake each time).
func TestSchemeFallbackRemembers(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer plain.Close()
	ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	c := &http.Client{Transport: &schemeFallback{next: ct}}
	u := strings.Replace(plain.URL, "http:", "https:", 1)
	for i, want := range []int{2, 3, 4} { // the first request tries https, then http
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct.n != want {
			t.Fatalf("request %d: %d requests sent in all, want %d", i+1, ct.n, want)
		}
	}
}
