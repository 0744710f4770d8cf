package e2e_test

// The same save-to-visible measurement with Vite's dev server, so that the
// figures of BenchmarkSaveToVisible can be compared with the tool
// developers know, on the same machine, browser and page:
//
//	scripts/bench-devloop
//
// installs the Vite of e2e/testdata/vite (npm ci) and runs both. Without
// that installation BenchmarkSaveToVisibleVite is skipped.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vitePage is the benchmark's page as Vite serves it: the page of pageSite
// (one stylesheet, the content in <main>), with the template inlined, since
// for Vite index.html is the template. Vite adds its client.
func vitePage(text string) string {
	return `<!doctype html>
<html><head><meta charset="utf-8"><title>devloop page</title>
<link rel="stylesheet" href="/assets/app.css">
</head><body>
<div id="box">box</div>
<main><p id="tpl">` + text + `</p></main>
</body></html>
`
}

// viteBin is the vite executable installed by scripts/bench-devloop, or "".
func viteBin() string {
	p, err := filepath.Abs(filepath.Join("testdata", "vite", "node_modules", ".bin", "vite"))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// startVite runs Vite's dev server on dir and returns its URL.
func startVite(b *testing.B, bin, dir string) string {
	b.Helper()
	addr := freeAddr(b)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--host", host, "--port", port, "--strictPort", "--clearScreen", "false")
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = groupAttr()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	b.Cleanup(func() {
		signalGroup(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			signalGroup(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return "http://" + addr + "/"
		}
		select {
		case <-exited:
			b.Fatalf("vite exited:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("vite not answering on %s after 30s:\n%s", addr, out)
		}
	}
}

// viteConnected waits until document number load of p has Vite's client
// connected (it logs "[vite] connected." once per document).
func viteConnected(b *testing.B, p *ptab, load int) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.logs.String(), "[vite] connected.") < load {
		if time.Now().After(deadline) {
			b.Fatalf("Vite's client did not connect in document %d:\n%s", load, p.logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkSaveToVisibleVite is BenchmarkSaveToVisible's css and reload
// with Vite's dev server serving the same page: css writes assets/app.css
// (Vite swaps the <link> as our client does), reload writes index.html (a
// full reload in Vite). The same marks of the same instrumentation are
// timed ("reload-visible": the new text in the new document's DOM, the
// end point of our morph series); Vite's own events are not reported, so
// there is no "event" series.
func BenchmarkSaveToVisibleVite(b *testing.B) {
	bin := viteBin()
	if bin == "" {
		b.Skip("Vite is not installed: run scripts/bench-devloop (npm ci in e2e/testdata/vite)")
	}
	setup := func(b *testing.B) (string, *ptab) {
		dir := b.TempDir()
		saveFile(b, filepath.Join(dir, "index.html"), vitePage("version one"))
		saveFile(b, filepath.Join(dir, "assets", "app.css"), "#box { color: rgb(10, 20, 30); }\n")
		url := startVite(b, bin, dir)
		p := newPage(b)
		p.navigate(url)
		viteConnected(b, p, 1)
		return dir, p
	}

	b.Run("css", func(b *testing.B) {
		dir, p := setup(b)
		// Vite's watcher (chokidar) drops a file's changes for 50 ms after
		// one it reported: saves closer together are never shown. Hence
		// cssGap between saves.
		benchCSS(b, p, filepath.Join(dir, "assets", "app.css"), "", cssGap)
	})

	b.Run("reload", func(b *testing.B) {
		dir, p := setup(b)
		page := filepath.Join(dir, "index.html")
		n := max(b.N, 25)
		var s series
		b.ResetTimer()
		for i := -2; i < n; i++ {
			text := fmt.Sprintf("revision %d", i+3)
			p.drain()
			t0 := time.Now()
			saveFile(b, page, vitePage(text))
			dcl, kept := p.nextMark("the reloaded document with "+text, 10*time.Second,
				func(m mark) bool { return m.Kind == "dcl" && strings.HasSuffix(m.Text, text) },
				func(m mark) bool { return m.Kind == "text" && m.Text == text })
			if len(kept) == 0 {
				b.Fatalf("no new text in the DOM before DOMContentLoaded")
			}
			viteConnected(b, p, dcl.Load)
			offset := clockOffset(b, p)
			if i >= 0 {
				w := unixMs(t0) + offset
				s.add("reload", dcl.T-w)
				s.add("reload-visible", kept[0].T-w)
				s.add("reload-nav-start", dcl.Origin-w)
				s.add("reload-html-end", dcl.HTML-w)
				s.add("reload-recv", float64(dcl.recv.Sub(t0).Microseconds())/1000)
			}
		}
		b.StopTimer()
		s.report(b)
	})
}
