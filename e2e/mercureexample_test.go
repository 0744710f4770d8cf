package e2e_test

import (
	"net/url"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
)

// TestMercureExample follows examples/mercure/README.md in a copy of the
// example: the hub as the README starts it (on a free port instead of
// 8080), the page served by python3 -m http.server (on a free port instead
// of 8000) and opened in Chromium with ?hub= naming the hub, then the
// README's token and curl commands, run by bash: the update shows in the
// page.
func TestMercureExample(t *testing.T) {
	blocks := docBlocks(t, "examples/mercure/README.md", 3)
	const dir = "examples/mercure"
	start, serve, publish := docCommands(t, blocks[0], dir), docCommands(t, blocks[1], dir), docCommands(t, blocks[2], dir)
	if len(start) != 1 || len(serve) != 1 || len(publish) != 2 {
		t.Fatalf("the README's blocks have the commands %q, %q, %q; want 1, 1 and 2", start, serve, publish)
	}
	needBrowser(t)
	needCommand(t, "curl")
	project := copyExample(t, "mercure")

	env, args := valksorCommand(t, start[0])
	if len(env) != 0 || len(args) != 0 {
		t.Fatalf("the README starts the hub with %q", start[0])
	}
	hub := startProc(t, project, []string{"VALKSOR_SSE_PORT=0"}, serveListening, args...)
	hub.waitLog("the Mercure hub", `msg="Mercure hub enabled"`, 10*time.Second)
	hubURL := hub.url("/.well-known/mercure")

	if w := docWords(t, serve[0]); !reflect.DeepEqual(w, []string{"python3", "-m", "http.server", "8000"}) {
		t.Fatalf("the README serves the page with %q", serve[0])
	}
	site := proctest.Python(t, project) // the same command, on a free port

	tb := newTab(t)
	tb.navigate(site + "/?hub=" + url.QueryEscape(hubURL))
	tb.waitFor("the page to subscribe", `document.getElementById('state').textContent === 'connected'`, 10*time.Second)
	if got := evalInto[string](tb, `document.getElementById('topic').textContent`); got != "https://example.com/books/1" {
		t.Errorf("the page follows %q", got)
	}

	out := runDocCommands(t, t.TempDir(), publish, nil, "http://localhost:8080/", hub.url("/"))
	if !regexp.MustCompile(`^\S+\n?$`).MatchString(out) {
		t.Errorf("curl printed %q, want the update's id", out)
	}
	tb.waitFor("the update in the page", `[...document.querySelectorAll('#updates li')].some((li) => li.textContent === 'Dune: back in stock')`, 10*time.Second)
}
