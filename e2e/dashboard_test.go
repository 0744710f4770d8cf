package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/valksor/go-sse/client"
)

// dashErrors collects what a page reports as going wrong: console.error and
// console.assert calls, uncaught exceptions, error entries of the browser's
// log (failed loads, CSP violations) and responses of 400 and above.
type dashErrors struct {
	mu   sync.Mutex
	list []string
}

func (e *dashErrors) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, fmt.Sprintf(format, args...))
}

// check fails the test for every error not containing one of the allowed
// substrings.
func (e *dashErrors) check(t *testing.T, allowed ...string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
outer:
	for _, msg := range e.list {
		for _, a := range allowed {
			if strings.Contains(msg, a) {
				continue outer
			}
		}
		t.Errorf("page error: %s", msg)
	}
}

// openDashboard opens the server's dashboard in a new tab that records its
// errors, and waits until the page is live and has applied two stats events
// (so both of its event types are being received).
func openDashboard(t *testing.T, s *server) (*tab, *dashErrors) {
	t.Helper()
	tb := newTab(t)
	errs := &dashErrors{}
	err := chromedp.Listen(tb.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				errs.add("console.%s: %s", ev.Type, strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			errs.add("uncaught: %s (%s:%d)", desc, d.URL, d.LineNumber)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				errs.add("log: %s (%s)", ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				errs.add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.navigate(s.url("/sse/_dashboard"))
	tb.waitFor("the dashboard to go live", `document.body.dataset.state === 'live' && Number(document.body.dataset.stats) >= 2`, 15*time.Second)
	return tb, errs
}

// text returns the text of the element matching the CSS selector sel.
func text(tb *tab, sel string) string {
	tb.t.Helper()
	return evalInto[string](tb, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ''`, sel))
}

// openStreams opens n event streams with raw HTTP requests and returns once
// every one has received its connected event. They close when the test ends.
func openStreams(t *testing.T, url string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %s", i, resp.Status)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && sc.Text() != "event: connected" {
		}
		if sc.Err() != nil {
			t.Fatalf("stream %d: %v", i, sc.Err())
		}
	}
}

// TestDashboardLoadsWithoutErrors opens the dashboard: it goes live over the
// hub's stream with no console error, exception or failed request, and
// shows the server's numbers.
func TestDashboardLoadsWithoutErrors(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	tb, errs := openDashboard(t, srv)

	if got := text(tb, "#streams"); got != "0" {
		t.Errorf("open streams = %q with only the dashboard connected, want 0", got)
	}
	if got := text(tb, "#streams-sub"); !strings.Contains(got, "1 dashboard viewer") || !strings.Contains(got, "of max 100") {
		t.Errorf("streams detail = %q", got)
	}
	if got := text(tb, "#health"); got != "ok" {
		t.Errorf("health = %q", got)
	}
	if got := text(tb, "#transport"); !strings.HasPrefix(got, "memory") {
		t.Errorf("transport = %q", got)
	}
	if got := text(tb, "#rss"); !strings.Contains(got, "MiB") {
		t.Errorf("memory = %q", got)
	}
	if n := evalInto[int](tb, `document.querySelector('#c-streams polyline').getAttribute('points').split(' ').filter(Boolean).length`); n < 2 {
		t.Errorf("the streams chart has %d points after two stats events", n)
	}
	// One stream for the page, listening to the dashboard topic only.
	if n := srv.connections(); n != 1 {
		t.Errorf("the server holds %d streams for one dashboard tab", n)
	}
	errs.check(t)
}

// TestDashboardTailShowsCLIPublish publishes with the CLI: the event is in
// the page's tail within a second of the command's exit, with its id, size
// and fan-out; the filters hide and show it.
func TestDashboardTailShowsCLIPublish(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	openStreams(t, srv.url("/sse"), 2) // two receivers on the public channel
	tb, errs := openDashboard(t, srv)

	cmd := exec.Command(bin, "publish", "cli-event", "--data", `{"from":"cli"}`, "--port", strconv.Itoa(srv.port))
	cmd.Dir = srv.dir
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	exited := time.Now()
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	id := strings.TrimSpace(string(out))
	row := fmt.Sprintf(`#tail tr[data-id=%q]`, id)
	tb.waitFor("the event in the tail", fmt.Sprintf(`document.querySelector(%q)`, row), time.Until(exited.Add(time.Second)))
	t.Logf("in the tail %v after publish exited", time.Since(exited).Round(time.Millisecond))

	cells := evalInto[[]string](tb, fmt.Sprintf(`[...document.querySelector(%q).cells].map((c) => c.textContent)`, row))
	if len(cells) != 7 || cells[1] != "cli-event" || cells[2] != "default" || cells[3] != id || cells[5] != "2" || cells[6] != `{"from":"cli"}` {
		t.Fatalf("tail row = %q, want cli-event on default, fan-out 2", cells)
	}
	if size, err := strconv.Atoi(cells[4]); err != nil || size < len(`{"from":"cli"}`) {
		t.Errorf("size cell %q", cells[4])
	}

	filter := func(id, value string) {
		tb.eval(fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input')); })()`, id, value))
	}
	filter("f-type", "nothing-like-it")
	if evalInto[bool](tb, fmt.Sprintf(`!!document.querySelector(%q)`, row)) {
		t.Error("the type filter does not hide the row")
	}
	filter("f-type", "cli")
	filter("f-topic", "def")
	if !evalInto[bool](tb, fmt.Sprintf(`!!document.querySelector(%q)`, row)) {
		t.Error("matching filters hide the row")
	}
	filter("f-topic", "orders")
	if evalInto[bool](tb, fmt.Sprintf(`!!document.querySelector(%q)`, row)) {
		t.Error("the topic filter does not hide the row")
	}
	// The dashboard's own events never appear in its tail.
	if n := evalInto[int](tb, `[...document.querySelectorAll('#tail td:nth-child(3)')].filter((c) => c.textContent.includes('$dashboard')).length`); n != 0 {
		t.Errorf("%d rows of the dashboard's own topic in the tail", n)
	}
	errs.check(t)
}

// TestDashboardCountsStreams opens 20 streams from Go: the dashboard shows
// 20 open streams (its own stream is a viewer, counted apart), 20 clients
// and the topic, and the client table sorts from the keyboard.
func TestDashboardCountsStreams(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	tb, errs := openDashboard(t, srv)
	openStreams(t, srv.url("/sse?topic=load"), 20)

	tb.waitFor("20 open streams", `document.getElementById('streams').textContent === '20'`, 5*time.Second)
	tb.waitFor("20 clients", `document.querySelectorAll('#clients tbody tr').length === 20`, 5*time.Second)
	if got := text(tb, "#streams-sub"); !strings.Contains(got, "1 dashboard viewer") {
		t.Errorf("streams detail = %q", got)
	}
	if got := text(tb, "#topics tbody"); got != "load20" {
		t.Errorf("topics table = %q, want load with 20", got)
	}
	if got := text(tb, "#clients-note"); got != "(20)" {
		t.Errorf("clients note = %q", got)
	}
	if n := srv.connections(); n != 21 {
		t.Errorf("the server counts %d streams, want 20 and the dashboard's", n)
	}

	// Sort by remote address with the keyboard: focus the header button, Enter.
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`#clients button[data-key="remote"]`)),
		chromedp.KeyEvent(kb.Enter),
	); err != nil {
		t.Fatal(err)
	}
	if got := evalInto[string](tb, `document.querySelector('#clients button[data-key="remote"]').parentElement.getAttribute('aria-sort')`); got != "ascending" {
		t.Fatalf("aria-sort after Enter = %q", got)
	}
	sorted := evalInto[bool](tb, `(() => {
		const a = [...document.querySelectorAll('#clients tbody tr')].map((r) => r.cells[3].textContent);
		return a.length === 20 && a.every((v, i) => i === 0 || a[i - 1] <= v);
	})()`)
	if !sorted {
		t.Error("the client table is not sorted by remote address")
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	if got := evalInto[string](tb, `document.querySelector('#clients button[data-key="remote"]').parentElement.getAttribute('aria-sort')`); got != "descending" {
		t.Fatalf("aria-sort after a second Enter = %q", got)
	}
	errs.check(t)
}

// TestDashboardPublishForm publishes from the page's form: a wrong token
// shows the server's refusal, the right one an id, and a separate Go
// subscriber receives the event.
func TestDashboardPublishForm(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan client.Event, 100)
	opened := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub := &client.Subscriber{URL: srv.url("/sse"), Topics: []string{"orders"}, OnConnect: func(*http.Response) { once.Do(func() { close(opened) }) }}
		_ = sub.Run(ctx, func(e client.Event) error {
			select {
			case events <- e:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the Go subscriber did not connect")
	}

	tb, errs := openDashboard(t, srv)
	token, err := os.ReadFile(filepath.Join(srv.dir, "var/run/valksor-sse.token"))
	if err != nil {
		t.Fatal(err)
	}
	if !evalInto[bool](tb, `document.getElementById('p-token').required`) {
		t.Error("the token field is not required although the server has a token")
	}
	submit := func(tok string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		defer cancel()
		tb.eval(`document.getElementById('p-token').value = ''; document.getElementById('p-result').textContent = ''`)
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS("#p-type"), "form-event"),
			chromedp.SetValue(chromedp.CSS("#p-topic"), "orders"),
			chromedp.SetValue(chromedp.CSS("#p-data"), `{"x": 1}`),
			chromedp.SendKeys(chromedp.CSS("#p-token"), tok),
			chromedp.Click(chromedp.CSS(`#pub button[type="submit"]`)),
		); err != nil {
			t.Fatal(err)
		}
	}

	submit("wrong-token")
	tb.waitFor("the refusal", `document.getElementById('p-result').textContent.startsWith('Error 401')`, 5*time.Second)

	submit(strings.TrimSpace(string(token)))
	tb.waitFor("the event id", `document.getElementById('p-result').dataset.id`, 5*time.Second)
	id := evalInto[string](tb, `document.getElementById('p-result').dataset.id`)
	if got := text(tb, "#p-result"); got != "Published, id "+id {
		t.Errorf("result = %q", got)
	}
	if got := evalInto[string](tb, `sessionStorage.getItem('valksor-sse-publish-token')`); got != strings.TrimSpace(string(token)) {
		t.Errorf("sessionStorage holds %q, want the token", got)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type != "form-event" {
				continue
			}
			if e.ID != id || e.Data != `{"x":1}` {
				t.Fatalf("subscriber got %+v, want id %s and data {\"x\":1}", e, id)
			}
			errs.check(t, "401") // the refused publish
			return
		case <-timeout:
			t.Fatal("the Go subscriber did not receive the form's event")
		}
	}
}
