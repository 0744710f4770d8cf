package e2e_test

// How long a developer waits between saving a file and seeing it in the
// browser, measured end to end with the real binary and Chromium:
//
//	go test -run '^$' -bench SaveToVisible ./e2e/
//
// The setup is that of TestWatchTemplateReloadsOnce: "valksor-sse serve
// --watch templates --watch assets" and a page on another origin. The Go
// side takes the time just before the write; the page stamps its marks
// (see instrument) with performance.timeOrigin + performance.now(), the
// same wall clock in Unix ms, corrected by an offset measured against
// time.Now() for each document (it stays well under a millisecond).

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
)

// unixMs is t in Unix milliseconds.
func unixMs(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }

// clockOffset returns the page clock minus the Go clock in ms, from the
// evaluation with the shortest round trip of a few.
func clockOffset(tb testing.TB, p *ptab) float64 {
	tb.Helper()
	best, offset := time.Hour, 0.0
	for range 7 {
		t0 := time.Now()
		v, err := pageEval[float64](p, `performance.timeOrigin + performance.now()`, 5*time.Second)
		rtt := time.Since(t0)
		if err != nil {
			tb.Fatalf("read the page clock: %v", err)
		}
		if rtt < best {
			best, offset = rtt, v-unixMs(t0.Add(rtt/2))
		}
	}
	return offset
}

// drain drops the marks received so far.
func (p *ptab) drain() {
	for {
		select {
		case <-p.marks:
		default:
			return
		}
	}
}

// nextMark returns the first mark for which ok holds, also keeping the
// marks for which also holds; it fails after within.
func (p *ptab) nextMark(what string, within time.Duration, ok func(mark) bool, also func(mark) bool) (mark, []mark) {
	p.tb.Helper()
	timeout := time.After(within)
	var kept []mark
	for {
		select {
		case m := <-p.marks:
			if ok(m) {
				return m, kept
			}
			if also != nil && also(m) {
				kept = append(kept, m)
			}
		case <-timeout:
			p.tb.Fatalf("waited %v for %s", within, what)
			return mark{}, nil
		}
	}
}

// stats are the median and 95th percentile of samples (ms).
func stats(samples []float64) (median, p95 float64) {
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0
	}
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s)-1)+0.5))] }
	return at(0.5), at(0.95)
}

// series collects named samples.
type series struct {
	names []string
	data  map[string][]float64
}

func (s *series) add(name string, v float64) {
	if s.data == nil {
		s.data = map[string][]float64{}
	}
	if _, ok := s.data[name]; !ok {
		s.names = append(s.names, name)
	}
	s.data[name] = append(s.data[name], v)
}

// report prints every series as a table on stdout (the benchmark log keeps
// only ten lines) and reports the median and p95 of each as metrics
// "<name>-median-ms" and "<name>-p95-ms"; the first one also becomes ns/op.
func (s *series) report(b *testing.B) {
	var lines []string
	for i, name := range s.names {
		med, p95 := stats(s.data[name])
		b.ReportMetric(med, name+"-median-ms")
		b.ReportMetric(p95, name+"-p95-ms")
		if i == 0 {
			b.ReportMetric(med*1e6, "ns/op")
		}
		lines = append(lines, fmt.Sprintf("%-24s median %6.2f ms  p95 %6.2f ms  (n=%d)", name, med, p95, len(s.data[name])))
	}
	fmt.Printf("%s (%d saves)\n    %s\n", b.Name(), len(s.data[s.names[0]]), strings.Join(lines, "\n    "))
}

// timingSetup starts the server (with env added to its environment) and
// the page of the benchmark.
func timingSetup(b *testing.B, env ...string) (dir string, p *ptab) {
	b.Helper()
	dir = devloopDir(b)
	srv := startProc(b, dir, env, serveListening, "serve", "--port", "0", "--watch", filepath.Join(dir, "templates"), "--watch", filepath.Join(dir, "assets"))
	p = newPage(b)
	p.navigate(pageSite(b, dir, srv).URL + "/")
	p.connected()
	return dir, p
}

// noMorph turns morphing off for the reload benchmarks (watch.morph and
// dev.morph false): a saved template reloads the page.
var noMorph = []string{"VALKSOR_SSE_WATCH_MORPH=false"}

// BenchmarkSaveToVisible measures, over at least 25 saves each:
//
//	css:    write assets/app.css → the page's computed style has the new
//	        color (the swapped stylesheet's load event); also → the
//	        css-update event in the page, and → the next animation frame.
//	reload: write templates/index.html, with morphing off → DOMContentLoaded
//	        of the reloaded document showing the new content; also → the
//	        new text in its DOM (while it is parsed), → the reload event in
//	        the old document, → the new document's navigation start (after
//	        the client's HEAD probe), → the end of its HTML, → the start and
//	        end of the fetch of the client module, → the client module
//	        evaluated (window.sseClient set).
//	morph:  write the page or template → the new text in the page's DOM
//	        (the morph), → the next animation frame, → the reload event,
//	        → sse:morph.
//
// "recv" series are the same end points as received by the test over the
// DevTools protocol (an upper bound that needs no clock correction).
// "morph-dev-proxy-python" serves the page of BenchmarkSaveToVisibleVite
// with python3 -m http.server behind "valksor-sse dev --proxy": the same
// page, edited the same way, as Vite's full reload.
func BenchmarkSaveToVisible(b *testing.B) {
	b.Run("css", func(b *testing.B) {
		dir, p := timingSetup(b)
		benchCSS(b, p, filepath.Join(dir, "assets", "app.css"), "css-update", cssGap)
	})

	b.Run("reload", func(b *testing.B) {
		dir, p := timingSetup(b, noMorph...)
		benchReload(b, p, filepath.Join(dir, "templates", "index.html"))
	})

	// The same page through "valksor-sse dev --proxy", which injects the
	// client as a digested, immutable asset (cached across reloads) and
	// shares one connection through the SharedWorker.
	b.Run("reload-dev-proxy", func(b *testing.B) {
		dir := devloopDir(b)
		app := pageSite(b, dir, nil)
		dev := startDev(b, b.TempDir(), noMorph, "--proxy", app.URL, "--watch", filepath.Join(dir, "templates"))
		p := newPage(b)
		p.navigate(dev.url("/"))
		p.connected()
		benchReload(b, p, filepath.Join(dir, "templates", "index.html"))
	})

	template := func(text string) string { return `<p id="tpl">` + text + `</p>` }
	b.Run("morph", func(b *testing.B) {
		dir, p := timingSetup(b)
		benchMorph(b, p, filepath.Join(dir, "templates", "index.html"), template)
	})

	b.Run("morph-dev-proxy", func(b *testing.B) {
		dir := devloopDir(b)
		app := pageSite(b, dir, nil)
		dev := startDev(b, b.TempDir(), nil, "--proxy", app.URL, "--watch", filepath.Join(dir, "templates"))
		p := newPage(b)
		p.navigate(dev.url("/"))
		p.connected()
		benchMorph(b, p, filepath.Join(dir, "templates", "index.html"), template)
	})

	b.Run("morph-dev-proxy-python", func(b *testing.B) {
		dir := b.TempDir()
		saveFile(b, filepath.Join(dir, "index.html"), vitePage("version one"))
		saveFile(b, filepath.Join(dir, "assets", "app.css"), "#box { color: rgb(10, 20, 30); }\n")
		app := proctest.Python(b, dir)
		dev := startDev(b, b.TempDir(), nil, "--proxy", app, "--watch", dir)
		p := newPage(b)
		p.navigate(dev.url("/"))
		p.connected()
		benchMorph(b, p, filepath.Join(dir, "index.html"), vitePage)
	})
}

// cssGap is the time between two saves of the css benchmarks: the pace of
// Vite's (see BenchmarkSaveToVisibleVite), kept for ours so that both run
// under the same conditions.
const cssGap = 100 * time.Millisecond

// benchCSS saves css at least 25 times and reports how long until the page's
// computed style changed; event is the type of the event that announces
// the change in the page ("" when the page does not report it). Saves are
// at least gap apart.
func benchCSS(b *testing.B, p *ptab, css, event string, gap time.Duration) {
	n := max(b.N, 25)
	var s series
	b.ResetTimer()
	for i := -2; i < n; i++ { // two warm-up saves
		offset := clockOffset(b, p)
		color := fmt.Sprintf("rgb(%d, %d, 200)", 40+i%200, i/200+1)
		p.drain()
		t0 := time.Now()
		saveFile(b, css, "#box { color: "+color+"; }\n")
		sheet, kept := p.nextMark("the new style "+color, 10*time.Second,
			func(m mark) bool { return m.Kind == "sheet" && m.Color == color },
			func(m mark) bool { return event != "" && m.Kind == "event" && m.Type == event })
		frame, _ := p.nextMark("the frame after the new style", 10*time.Second,
			func(m mark) bool { return m.Kind == "frame" && m.Color == color }, nil)
		if event != "" && len(kept) == 0 {
			b.Fatalf("no %s event before the new style", event)
		}
		if i >= 0 {
			w := unixMs(t0) + offset
			s.add("css", sheet.T-w)
			if event != "" {
				s.add("css-event", kept[0].T-w)
			}
			s.add("css-frame", frame.T-w)
			s.add("css-recv", float64(sheet.recv.Sub(t0).Microseconds())/1000)
		}
		if !p.until(`document.querySelectorAll('link[rel=stylesheet]').length === 1`, 10*time.Second) {
			b.Fatal("the old stylesheet stayed")
		}
		time.Sleep(time.Until(t0.Add(gap)))
	}
	b.StopTimer()
	s.report(b)
}

// benchReload saves tpl at least 25 times and reports how long until the
// reloaded document is there.
func benchReload(b *testing.B, p *ptab, tpl string) {
	n := max(b.N, 25)
	var s series
	b.ResetTimer()
	for i := -2; i < n; i++ { // two warm-up saves
		oldOffset := clockOffset(b, p)
		text := fmt.Sprintf("revision %d", i+3)
		p.drain()
		t0 := time.Now()
		saveFile(b, tpl, `<p id="tpl">`+text+`</p>`)
		dcl, kept := p.nextMark("the reloaded document with "+text, 10*time.Second,
			func(m mark) bool { return m.Kind == "dcl" && strings.HasSuffix(m.Text, text) },
			func(m mark) bool {
				return m.Kind == "reload" || m.Kind == "client" || (m.Kind == "text" && m.Text == text)
			})
		var reload, client, visible *mark
		for i := range kept {
			switch {
			case kept[i].Kind == "reload" && reload == nil:
				reload = &kept[i]
			case kept[i].Kind == "client" && reload != nil:
				client = &kept[i]
			case kept[i].Kind == "text" && visible == nil:
				visible = &kept[i]
			}
		}
		if reload == nil || client == nil || visible == nil {
			b.Fatalf("no sse:reload, no client evaluated, or no new text in the DOM before DOMContentLoaded: %+v", kept)
		}
		p.connected() // the next reload must find it listening
		newOffset := clockOffset(b, p)
		if i >= 0 {
			w := unixMs(t0) + newOffset
			s.add("reload", dcl.T-w)
			s.add("reload-visible", visible.T-w)
			s.add("reload-event", reload.T-oldOffset-unixMs(t0))
			s.add("reload-nav-start", dcl.Origin-w)
			s.add("reload-html-end", dcl.HTML-w)
			if dcl.JS > 0 {
				s.add("reload-client-js-start", dcl.JSStart-w)
				s.add("reload-client-js-end", dcl.JS-w)
			}
			s.add("reload-client-evaluated", client.T-w)
			s.add("reload-recv", float64(dcl.recv.Sub(t0).Microseconds())/1000)
			s.add("clock-offset-abs", max(oldOffset, -oldOffset))
		}
	}
	b.StopTimer()
	s.report(b)
}

// benchMorph saves file (the page, or a template of it) with page(text) at
// least 25 times, saves gap apart, and reports how long until the new text
// is in the page's DOM: each save must morph the page, not reload it.
func benchMorph(b *testing.B, p *ptab, file string, page func(text string) string) {
	n := max(b.N, 25)
	var s series
	load := mustEval[int](p, `window.__e2eLoad`)
	b.ResetTimer()
	for i := -2; i < n; i++ { // two warm-up saves
		offset := clockOffset(b, p)
		text := fmt.Sprintf("revision %d", i+3)
		p.drain()
		t0 := time.Now()
		saveFile(b, file, page(text))
		visible, kept := p.nextMark("the new text in the page", 10*time.Second,
			func(m mark) bool { return m.Kind == "text" && m.Text == text },
			func(m mark) bool { return m.Kind == "reload" })
		isMorph := func(m mark) bool { return m.Kind == "morph" }
		frame, morphs := p.nextMark("the frame after the new text", 10*time.Second,
			func(m mark) bool { return m.Kind == "text-frame" && m.Text == text }, isMorph)
		if len(morphs) == 0 {
			m, _ := p.nextMark("sse:morph", 10*time.Second, isMorph, nil)
			morphs = append(morphs, m)
		}
		done := morphs[0]
		if len(kept) == 0 || visible.Load != load || done.Load != load {
			b.Fatalf("save %d: the page was reloaded (document %d, then %d) or saw no sse:reload (%+v); want a morph", i, load, visible.Load, kept)
		}
		if i >= 0 {
			w := unixMs(t0) + offset
			s.add("morph", visible.T-w)
			s.add("morph-frame", frame.T-w)
			s.add("morph-event", kept[0].T-w)
			s.add("morph-done", done.T-w)
			s.add("morph-recv", float64(visible.recv.Sub(t0).Microseconds())/1000)
		}
		time.Sleep(time.Until(t0.Add(cssGap)))
	}
	b.StopTimer()
	s.report(b)
}
