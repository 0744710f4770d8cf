package dev_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/dev"
)

const goPage = "<!DOCTYPE html><html><head><title>Go app</title></head><body><p>hello</p></body></html>"

// goBackend is a Go app behind the proxy, on 127.0.0.1.
type goBackend struct {
	*httptest.Server
	binary  []byte
	release chan struct{} // lets /events send its second event
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

func startGoBackend(t *testing.T) *goBackend {
	t.Helper()
	b := &goBackend{binary: make([]byte, 300<<10), release: make(chan struct{})}
	_, _ = rand.Read(b.binary)
	gz := gzipped(t, []byte(goPage))
	html := func(w http.ResponseWriter) { w.Header().Set("Content-Type", "text/html; charset=utf-8") }
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		html(w)
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, goPage)
	})
	mux.HandleFunc("/has-client", func(w http.ResponseWriter, r *http.Request) {
		html(w)
		io.WriteString(w, `<html><head><script type="importmap">{"imports": {"valksorsse/sse": "/sse/client.js"}}</script></head><body></body></html>`)
	})
	mux.HandleFunc("/sniffed", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no Content-Type, and net/http must not sniff
		io.WriteString(w, goPage)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		html(w)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<html><body>no such page</body></html>")
	})
	mux.HandleFunc("/csp", func(w http.ResponseWriter, r *http.Request) {
		html(w)
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-abc123'")
		io.WriteString(w, goPage)
	})
	mux.HandleFunc("/bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b.binary)))
		w.Write(b.binary)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		html(w)
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz)
	})
	mux.HandleFunc("/br", func(w http.ResponseWriter, r *http.Request) {
		html(w)
		w.Header().Set("Content-Encoding", "br")
		w.Write([]byte{0x1b, 0x2a, 0x00, 0xf8, 0x8d, 0x94, 0x6e, 0xde, 0x3c, 0x8a})
	})
	mux.HandleFunc("/cookie", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "sid=abc123; Path=/; Domain=127.0.0.1; HttpOnly; SameSite=Lax")
		w.Header().Add("Set-Cookie", "theme=dark; Path=/")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		sid := ""
		if c, err := r.Cookie("sid"); err == nil {
			sid = c.Value
		}
		fmt.Fprintf(w, "sid=%s\nhost=%s\nx-forwarded-host=%s\nx-forwarded-proto=%s\naccept-encoding=%s\n",
			sid, r.Host, r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("Accept-Encoding"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", r.URL.Query().Get("to"))
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-b.release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: two\n\n")
	})
	mux.HandleFunc("/ws", wsEcho)
	b.Server = httptest.NewServer(mux)
	t.Cleanup(b.Close)
	return b
}

// lines parses the key=value lines of /whoami.
func lines(body []byte) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(string(body), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestProxyInjectsHTML(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})

	t.Run("page", func(t *testing.T) {
		resp, body := ps.do(t, "GET", "/", nil)
		s := string(body)
		if resp.StatusCode != 200 || strings.Count(s, clientImport) != 1 || strings.Count(s, `data-valksor-sse-dev-overlay`) != 1 {
			t.Fatalf("status %d, body:\n%s\nwant the client and the overlay once", resp.StatusCode, s)
		}
		if i, j := strings.Index(s, clientImport), strings.Index(s, "</head>"); i > j || !strings.Contains(s, "<p>hello</p>") {
			t.Errorf("snippet not before </head> or page lost:\n%s", s)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("Content-Length %q for a %d-byte body", cl, len(body))
		}
		if resp.Header.Get("ETag") != "" {
			t.Errorf("ETag %q kept on a modified page", resp.Header.Get("ETag"))
		}
	})
	t.Run("page with the client", func(t *testing.T) {
		_, body := ps.do(t, "GET", "/has-client", nil)
		s := string(body)
		if strings.Contains(s, clientImport) || strings.Count(s, `type="importmap"`) != 1 || strings.Count(s, `data-valksor-sse-dev-overlay`) != 1 {
			t.Errorf("a page with the client must get the overlay only:\n%s", s)
		}
	})
	t.Run("no Content-Type", func(t *testing.T) {
		resp, body := ps.do(t, "GET", "/sniffed", nil)
		if strings.Count(string(body), clientImport) != 1 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("sniffed HTML not injected (Content-Type %q):\n%s", resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("error page", func(t *testing.T) {
		resp, body := ps.do(t, "GET", "/missing", nil)
		if resp.StatusCode != 404 || strings.Count(string(body), clientImport) != 1 {
			t.Errorf("status %d; a 404 HTML page should keep its status and be injected:\n%s", resp.StatusCode, body)
		}
	})
	t.Run("CSP nonce", func(t *testing.T) {
		_, body := ps.do(t, "GET", "/csp", nil)
		s := string(body)
		if !strings.Contains(s, `<script type="module" nonce="abc123">`) || !strings.Contains(s, `data-valksor-sse-dev-overlay nonce="abc123"`) {
			t.Errorf("scripts without the page's nonce:\n%s", s)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := ps.do(t, "HEAD", "/", nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(goPage)) || resp.Header.Get("ETag") != `"v1"` {
			t.Errorf("HEAD: status %d, Content-Length %q, ETag %q, %d body bytes; want the app's headers untouched",
				resp.StatusCode, resp.Header.Get("Content-Length"), resp.Header.Get("ETag"), len(body))
		}
	})
}

func TestProxyPassesThrough(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})

	resp, body := ps.do(t, "GET", "/bin", nil)
	if !bytes.Equal(body, b.binary) || resp.Header.Get("Content-Length") != strconv.Itoa(len(b.binary)) {
		t.Errorf("binary body changed: %d bytes (Content-Length %q), want %d identical bytes", len(body), resp.Header.Get("Content-Length"), len(b.binary))
	}
	resp, body = ps.do(t, "GET", "/br", func(r *http.Request) { r.Header.Set("Accept-Encoding", "br") })
	if want := []byte{0x1b, 0x2a, 0x00, 0xf8, 0x8d, 0x94, 0x6e, 0xde, 0x3c, 0x8a}; !bytes.Equal(body, want) || resp.Header.Get("Content-Encoding") != "br" {
		t.Errorf("br HTML: %x (Content-Encoding %q), want %x untouched", body, resp.Header.Get("Content-Encoding"), want)
	}
}

func TestProxyGzip(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})
	resp, body := ps.do(t, "GET", "/gzip", func(r *http.Request) { r.Header.Set("Accept-Encoding", "gzip") })
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("Content-Encoding %q, Content-Length %q for %d bytes; want gzip with the right length",
			resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decoding the injected page: %v", err)
	}
	if strings.Count(string(page), clientImport) != 1 || !strings.Contains(string(page), "<p>hello</p>") {
		t.Errorf("decoded page:\n%s\nwant the app's page with the client once", page)
	}
}

func TestProxyRequestHeaders(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})
	for _, tt := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "gzip"},
		{"br;q=1.0, gzip;q=0.5", "gzip"},
		{"*", "gzip"},
		{"br", ""},
		{"gzip;q=0, *", ""},
		{"", ""},
	} {
		_, body := ps.do(t, "GET", "/whoami", func(r *http.Request) {
			if tt.accept != "" {
				r.Header.Set("Accept-Encoding", tt.accept)
			}
		})
		got := lines(body)
		if got["accept-encoding"] != tt.want {
			t.Errorf("browser Accept-Encoding %q: the app got %q, want %q", tt.accept, got["accept-encoding"], tt.want)
		}
		if got["host"] != b.Listener.Addr().String() || got["x-forwarded-host"] != ps.Listener.Addr().String() || got["x-forwarded-proto"] != "http" {
			t.Errorf("app saw %v; want Host of the app, X-Forwarded-Host of the proxy, X-Forwarded-Proto http", got)
		}
	}
}

func TestProxyCookies(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})
	pport := port(t, ps.URL)
	for _, tt := range []struct {
		name, host string // the host the browser uses for the proxy
		wantSID    string // the sid Set-Cookie as the browser gets it
	}{
		{"same host as the app", "127.0.0.1:" + pport, "sid=abc123; Path=/; Domain=127.0.0.1; HttpOnly; SameSite=Lax"},
		{"other host than the app", "localhost:" + pport, "sid=abc123; Path=/; HttpOnly; SameSite=Lax"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			origin := &url.URL{Scheme: "http", Host: tt.host, Path: "/"}
			resp, _ := ps.do(t, "GET", "/cookie", func(r *http.Request) { r.Host = tt.host })
			if got := resp.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != tt.wantSID || got[1] != "theme=dark; Path=/" {
				t.Errorf("Set-Cookie %q, want [%q %q]", got, tt.wantSID, "theme=dark; Path=/")
			}
			jar.SetCookies(origin, resp.Cookies())
			// The browser sends the cookie back to the proxy's origin, and it
			// reaches the app.
			_, body := ps.do(t, "GET", "/whoami", func(r *http.Request) {
				r.Host = tt.host
				for _, c := range jar.Cookies(origin) {
					r.AddCookie(c)
				}
			})
			if got := lines(body)["sid"]; got != "abc123" {
				t.Errorf("the app got sid %q back through the proxy at %s, want abc123 (jar holds %v)", got, tt.host, jar.Cookies(origin))
			}
		})
	}
}

func TestProxyRedirects(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})
	bport, pport := port(t, b.URL), port(t, ps.URL)
	for _, tt := range []struct {
		name, to, host, want string
	}{
		{"app origin", b.URL + "/login?next=%2Fa%20b#top", "", ps.URL + "/login?next=%2Fa%20b#top"},
		{"app origin, browser on localhost", b.URL + "/login", "localhost:" + pport, "http://localhost:" + pport + "/login"},
		{"app as localhost", "http://localhost:" + bport + "/x", "", ps.URL + "/x"},
		{"app origin without path", b.URL, "", ps.URL},
		{"protocol-relative", "//127.0.0.1:" + bport + "/x", "", "//127.0.0.1:" + pport + "/x"},
		{"relative", "/login", "", "/login"},
		{"relative path", "../up", "", "../up"},
		{"other port", "http://127.0.0.1:1/x", "", "http://127.0.0.1:1/x"},
		{"other origin", "https://example.com/callback", "", "https://example.com/callback"},
		{"other scheme", "https://127.0.0.1:" + bport + "/x", "", "https://127.0.0.1:" + bport + "/x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := ps.do(t, "GET", "/redirect?to="+url.QueryEscape(tt.to), func(r *http.Request) {
				if tt.host != "" {
					r.Host = tt.host
				}
			})
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tt.want {
				t.Errorf("status %d, Location %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), tt.want)
			}
		})
	}
}

func TestProxyStreams(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ps.URL+"/events", nil)
	resp, err := ps.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	// The first event arrives while the app still holds the stream open.
	line, err := r.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first line %q, %v; want the first event before the app finishes", line, err)
	}
	close(b.release)
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
}

func TestProxyWebSocket(t *testing.T) {
	b := startGoBackend(t)
	ps := startProxy(t, b.URL, dev.ProxyOptions{})
	conn, err := net.Dial("tcp", ps.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		ps.Listener.Addr(), key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("handshake: %s, Sec-WebSocket-Accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	for _, msg := range []string{"hello", strings.Repeat("long message ", 40)} {
		if err := wsWriteFrame(conn, wsText, []byte(msg), true); err != nil {
			t.Fatal(err)
		}
		op, got, err := wsReadFrame(br)
		if err != nil || op != wsText || string(got) != msg {
			t.Fatalf("echo: opcode %d, %q, %v; want text %q", op, got, err, msg)
		}
	}
	if err := wsWriteFrame(conn, wsClose, []byte{0x03, 0xe8}, true); err != nil {
		t.Fatal(err)
	}
	if op, _, err := wsReadFrame(br); err != nil || op != wsClose {
		t.Errorf("close: opcode %d, %v", op, err)
	}
}

func TestProxyAppDown(t *testing.T) {
	addr := freeAddr(t) // nothing listens there
	state := dev.State{Phase: dev.PhaseFailed, Output: "./main.go:3:1: <script>alert(1)</script>\n", ExitCode: 2}
	state.Err = fmt.Errorf("app command exited with status 2 before answering on http://%s/", addr)
	for _, tt := range []struct {
		name  string
		state func() dev.State
		want  []string
	}{
		{"no runner", nil, nil},
		{"failed run", func() dev.State { return state },
			[]string{"app command exited with status 2 before answering", "./main.go:3:1: &lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"starting", func() dev.State { return dev.State{Phase: dev.PhaseStarting} }, []string{"The app command is starting."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps := startProxy(t, "http://"+addr, dev.ProxyOptions{State: tt.state})
			resp, body := ps.do(t, "GET", "/some/page", nil)
			s := string(body)
			want := append([]string{
				"valksor-sse dev: the app at http://" + addr + " is not answering (connection refused). It will reload here when it is back.",
				clientImport,
				"data-valksor-sse-dev-overlay",
				`<html lang="en" data-valksor-morph="false" data-valksor-app-down>`, // a reload replaces it by the app's page; marked for the "app is back" reload
			}, tt.want...)
			if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("status %d, Content-Type %q; want a 502 HTML page", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			for _, w := range want {
				if strings.Count(s, w) != 1 {
					t.Errorf("page lacks %q (or has it twice):\n%s", w, s)
				}
			}
			if strings.Contains(s, "<script>alert") {
				t.Errorf("output not escaped:\n%s", s)
			}
			resp, body = ps.do(t, "HEAD", "/", nil)
			if resp.StatusCode != http.StatusBadGateway || len(body) != 0 {
				t.Errorf("HEAD: status %d with %d body bytes", resp.StatusCode, len(body))
			}
		})
	}
}

func TestNewProxyErrors(t *testing.T) {
	r := newRenderer(t)
	for _, tt := range []struct {
		name, target string
		o            dev.ProxyOptions
		want         string
	}{
		{"no scheme", "localhost:8000", dev.ProxyOptions{Renderer: r}, "invalid proxy target"},
		{"path", "http://localhost:8000/app", dev.ProxyOptions{Renderer: r}, "invalid proxy target"},
		{"query", "http://localhost:8000/?a=1", dev.ProxyOptions{Renderer: r}, "invalid proxy target"},
		{"no renderer", "http://localhost:8000", dev.ProxyOptions{}, "needs a Renderer"},
		{"bad tmpl options", "http://localhost:8000", dev.ProxyOptions{Tmpl: tmplEnabledWithoutMapper()}, "Mapper"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			_, err = dev.NewProxy(u, tt.o)
			if err == nil || !strings.HasPrefix(err.Error(), "dev: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewProxy: %v, want a dev: error containing %q", err, tt.want)
			}
		})
	}
	if _, err := dev.NewProxy(nil, dev.ProxyOptions{Renderer: r}); err == nil {
		t.Error("NewProxy(nil) succeeded")
	}
	u, _ := url.Parse("http://localhost:8000/")
	if _, err := dev.NewProxy(u, dev.ProxyOptions{Renderer: r}); err != nil {
		t.Errorf("a target with a / path: %v", err)
	}
}
