package dev_test

import (
	"bytes"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/dev"
)

// startPython serves dir with "python3 -m http.server" on 127.0.0.1 and
// returns its URL. Without python3 the test is skipped, or fails under CI.
func startPython(t *testing.T, dir string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import http.server").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is needed for the non-Go backend test: %v", err)
		}
		t.Skipf("no usable python3: %v", err)
	}
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	var out syncBuffer
	cmd := exec.Command(py, "-m", "http.server", port, "--bind", host, "--directory", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("python3 -m http.server exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("python3 -m http.server not answering on %s after 15s:\n%s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProxyPythonBackend(t *testing.T) {
	dir := t.TempDir()
	page := "<!doctype html>\n<html>\n<head><meta charset=\"utf-8\"><title>Python app</title></head>\n<body><h1>served by python</h1></body>\n</html>\n"
	blob := make([]byte, 200<<10)
	_, _ = rand.Read(blob)
	for name, data := range map[string][]byte{
		"index.html":     []byte(page),
		"blob.bin":       blob,
		"sub/index.html": []byte("<html><body>sub</body></html>"),
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ps := startProxy(t, startPython(t, dir), dev.ProxyOptions{})

	resp, body := ps.do(t, "GET", "/", nil)
	s := string(body)
	if resp.StatusCode != 200 || strings.Count(s, clientImport) != 1 || strings.Count(s, "data-valksor-sse-dev-overlay") != 1 ||
		!strings.Contains(s, "<h1>served by python</h1>") || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Errorf("GET /: status %d, Content-Length %q, body:\n%s\nwant the page with the client once", resp.StatusCode, resp.Header.Get("Content-Length"), s)
	}
	if resp.Header.Get("Last-Modified") != "" {
		t.Errorf("Last-Modified %q kept on a modified page", resp.Header.Get("Last-Modified"))
	}

	resp, body = ps.do(t, "GET", "/blob.bin", nil)
	if !bytes.Equal(body, blob) || resp.Header.Get("Content-Length") != strconv.Itoa(len(blob)) {
		t.Errorf("GET /blob.bin: %d bytes (Content-Length %q), want the file's %d bytes unchanged", len(body), resp.Header.Get("Content-Length"), len(blob))
	}

	resp, body = ps.do(t, "HEAD", "/", nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(page)) {
		t.Errorf("HEAD /: status %d, Content-Length %q, %d body bytes; want the app's answer untouched", resp.StatusCode, resp.Header.Get("Content-Length"), len(body))
	}

	// http.server redirects a directory without its slash; the Location is
	// relative and stays so.
	resp, _ = ps.do(t, "GET", "/sub", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/sub/" {
		t.Errorf("GET /sub: status %d, Location %q; want 301 to /sub/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
