package dev_test

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/proctest"

	"github.com/valksor/go-sse/dev"
)

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
	ps := startProxy(t, proctest.Python(t, dir), dev.ProxyOptions{})

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
