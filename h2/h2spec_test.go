package h2_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// h2specVersion is the h2spec the conformance run uses.
const h2specVersion = "v2.2.1+incompatible"

// h2specKnownFailures are the h2spec cases (ids as h2spec prints them)
// that the server under test fails, and why. Everything else must pass;
// package h2's server passes every case. (net/http's own HTTP/2 server
// fails http2/6.5.3/1, a SETTINGS frame repeating a parameter, and
// http2/8.1.2.2/1 and /2, malformed requests answered with 400.)
var h2specKnownFailures = map[string]string{}

// TestH2spec runs h2spec (every generic, http2 and hpack case) against
// the server and fails naming each case that fails and is not in
// h2specKnownFailures, and each known failure that now passes.
func TestH2spec(t *testing.T) {
	bin := h2specBinary(t)
	addr, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from the server under test\n")
	}), serverOpts{})
	host, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(t.TempDir(), "h2spec.xml")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-t", "-k", "-h", host, "-p", port, "-o", "2", "-j", report).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("h2spec did not finish: %v\n%s", ctx.Err(), out)
	}
	// h2spec exits 1 when a case fails; the report says which.
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v, %v):\n%s", err, rerr, out)
	}
	cases, perr := parseJUnit(data)
	if perr != nil {
		t.Fatalf("h2spec report: %v", perr)
	}
	if len(cases) < 100 {
		t.Fatalf("h2spec ran %d cases, expected the full suite:\n%s", len(cases), out)
	}

	failed := map[string]bool{}
	var unexpected []string
	for _, c := range cases {
		if c.failure == "" {
			continue
		}
		failed[c.id] = true
		if _, known := h2specKnownFailures[c.id]; !known {
			unexpected = append(unexpected, fmt.Sprintf("%s %s: %s", c.id, c.desc, c.failure))
		}
	}
	var fixed []string
	for id := range h2specKnownFailures {
		if !failed[id] {
			fixed = append(fixed, id)
		}
	}
	sort.Strings(fixed)
	t.Logf("h2spec: %d cases, %d failed (%d known)", len(cases), len(failed), len(failed)-len(unexpected))
	for _, u := range unexpected {
		t.Errorf("h2spec failed %s", u)
	}
	for _, id := range fixed {
		t.Errorf("h2spec %s passes now; take it out of h2specKnownFailures (%s)", id, h2specKnownFailures[id])
	}
}

type h2specCase struct {
	id, desc, failure string
}

// parseJUnit reads h2spec's JUnit report. A case's id is its package
// ("http2/8.1.2.2") and its number within it, as h2spec prints them.
func parseJUnit(data []byte) ([]h2specCase, error) {
	var doc struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				Desc    string `xml:"classname,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var cases []h2specCase
	for _, s := range doc.Suites {
		for i, c := range s.Cases {
			hc := h2specCase{id: fmt.Sprintf("%s/%d", s.Package, i+1), desc: c.Desc}
			switch {
			case c.Failure != nil:
				hc.failure = oneLine(c.Failure.Message + " " + c.Failure.Text)
			case c.Error != nil:
				hc.failure = oneLine("error: " + c.Error.Message + " " + c.Error.Text)
			}
			cases = append(cases, hc)
		}
	}
	return cases, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "failed"
	}
	return s
}

// h2specBinary installs h2spec into the user's cache directory (once)
// and returns its path. Without the module proxy the test skips, except
// in CI, where it fails.
func h2specBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "valksor-sse", "h2spec-"+strings.TrimSuffix(h2specVersion, "+incompatible"))
	name := "h2spec"
	if filepath.Separator == '\\' {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/summerwind/h2spec/cmd/h2spec@"+h2specVersion)
	cmd.Dir = t.TempDir() // outside this module
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot install h2spec %s (go install: %v):\n%s", h2specVersion, err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}
