package main

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/client"
)

// start serves newServer's handler on a loopback port until the test ends.
func start(t *testing.T) *httptest.Server {
	t.Helper()
	handler, shutdown, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return srv
}

// get fetches u and returns the status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var importMapRE = regexp.MustCompile(`<script type="importmap">(.*?)</script>`)

func TestPage(t *testing.T) {
	srv := start(t)
	status, page := get(t, srv.URL+"/")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d", status)
	}

	m := importMapRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no import map in the page:\n%s", page)
	}
	var im struct {
		Imports   map[string]string `json:"imports"`
		Integrity map[string]string `json:"integrity"`
	}
	if err := json.Unmarshal([]byte(m[1]), &im); err != nil {
		t.Fatalf("import map %s: %v", m[1], err)
	}
	client, app := im.Imports["valksorsse/sse"], im.Imports["app"]
	if !regexp.MustCompile(`^/assets/valksorsse/sse-[0-9a-f]{8}\.js$`).MatchString(client) ||
		!regexp.MustCompile(`^/assets/app-[0-9a-f]{8}\.js$`).MatchString(app) {
		t.Fatalf("imports = %v, want digested paths of the client and app.js", im.Imports)
	}
	// Integrity for both entries and for ./lib/format.js, which app.js
	// imports; each matches the bytes served.
	if len(im.Integrity) != 3 {
		t.Fatalf("integrity = %v, want the client, app.js and lib/format.js", im.Integrity)
	}
	for u, want := range im.Integrity {
		status, body := get(t, srv.URL+u)
		sum := sha512.Sum384([]byte(body))
		if got := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); status != http.StatusOK || got != want {
			t.Errorf("%s: status %d, integrity %s, import map says %s", u, status, got, want)
		}
	}
	_, appJS := get(t, srv.URL+app)
	if !regexp.MustCompile(`from '\./lib/format-[0-9a-f]{8}\.js'`).MatchString(appJS) {
		t.Errorf("app.js does not import the digested ./lib/format.js:\n%s", appJS)
	}

	for _, want := range []string{
		`<link rel="modulepreload" href="` + client + `" integrity="` + im.Integrity[client] + `">`,
		`<link rel="modulepreload" href="` + app + `" integrity="` + im.Integrity[app] + `">`,
		"<script type=\"module\">import \"valksorsse/sse\";\nimport \"app\";</script>\n</body>",
		`<meta name="valksor-sse-port" content="">`,
		`<meta name="valksor-sse-path" content="/sse">`,
		`<form id="notify" method="post" action="/notify">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if i, j := strings.Index(page, `<script type="importmap">`), strings.Index(page, "</head>"); i < 0 || i > j {
		t.Error("the import map is not in the head")
	}

	// The stylesheet is linked by its digested name and refers to the
	// digested image.
	css := regexp.MustCompile(`<link rel="stylesheet" href="(/assets/app-[0-9a-f]{8}\.css)">`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("no digested stylesheet link")
	}
	_, body := get(t, srv.URL+css[1])
	img := regexp.MustCompile(`url\(\./img/(dot-[0-9a-f]{8}\.svg)\)`).FindStringSubmatch(body)
	if img == nil {
		t.Fatalf("app.css does not refer to the digested image:\n%s", body)
	}
	if status, _ := get(t, srv.URL+"/assets/img/"+img[1]); status != http.StatusOK {
		t.Errorf("image: %d", status)
	}

	// Undigested names are not served; the SharedWorker's URL is stable.
	if status, _ := get(t, srv.URL+"/assets/app.js"); status != http.StatusNotFound {
		t.Errorf("GET /assets/app.js = %d, want 404", status)
	}
	for _, p := range []string{"/sse/client.js", "/sse/worker.js"} {
		if status, _ := get(t, srv.URL+p); status != http.StatusOK {
			t.Errorf("GET %s = %d", p, status)
		}
	}
}

// subscribe reads the app's stream from Go until the test ends; it returns
// once the stream is connected.
func subscribe(t *testing.T, srv *httptest.Server) <-chan client.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan client.Event, 16)
	connected := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- (&client.Subscriber{URL: srv.URL + "/sse"}).Run(ctx, func(e client.Event) error {
			if e.Type == "connected" {
				close(connected)
				return nil
			}
			events <- e
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("subscriber: %v", err)
		}
	})
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("subscriber: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber did not connect within 10s")
	}
	return events
}

func post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func next(t *testing.T, events <-chan client.Event) client.Event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return client.Event{}
	}
}

func TestNotifyAndReload(t *testing.T) {
	srv := start(t)
	events := subscribe(t, srv)

	if status, body := post(t, srv.URL+"/notify", url.Values{"message": {"  Hello <b>tabs</b>  "}}); status != http.StatusNoContent {
		t.Fatalf("POST /notify = %d %s", status, body)
	}
	e := next(t, events)
	var data map[string]string
	if err := json.Unmarshal([]byte(e.Data), &data); err != nil || e.Type != "custom-notification" || e.ID == "" ||
		len(data) != 2 || data["message"] != "Hello <b>tabs</b>" || data["level"] != "info" {
		t.Fatalf("got %+v (%v), want the custom-notification with the trimmed message and level info", e, err)
	}

	if status, _ := post(t, srv.URL+"/trigger-reload", nil); status != http.StatusNoContent {
		t.Fatalf("POST /trigger-reload = %d", status)
	}
	if e := next(t, events); e.Type != "reload" || e.Data != `{"files":[]}` {
		t.Fatalf("got %+v, want reload", e)
	}
}

func TestNotifyRejects(t *testing.T) {
	srv := start(t)
	if status, _ := post(t, srv.URL+"/notify", url.Values{"message": {"  "}}); status != http.StatusBadRequest {
		t.Errorf("empty message: %d, want 400", status)
	}
	if status, _ := get(t, srv.URL+"/notify"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /notify: %d, want 405", status)
	}
	// A form posted from another site is refused (CSRF).
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/trigger-reload", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /trigger-reload: %d, want 403", resp.StatusCode)
	}
}
