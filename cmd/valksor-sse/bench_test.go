package main_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestBenchCommand runs the bench command end to end at a small size, against
// a real server and the floor server, and checks that nothing was lost.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	out, errOut, code := run(t, dir, "bench", "--port", strconv.Itoa(s.port), "--streams", "40", "--publishes", "5", "--compare-floor", "--rounds", "1", "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	var rep struct{ A, B benchSide }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json printed %q: %v", out, err)
	}
	for _, r := range []benchSide{rep.A, rep.B} {
		if r.Connected != 40 || r.Expected != 200 || r.Received != 200 || r.Lost != 0 || r.LatencyP50 <= 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if rep.A.Name != "floor" || rep.B.Name != "valksor-sse" {
		t.Errorf("servers %q and %q", rep.A.Name, rep.B.Name)
	}
}

// benchSide is the part of a bench report this test reads.
type benchSide struct {
	Name                string
	Connected, Received int
	Expected, Lost      int
	LatencyP50          int64 `json:"latency_p50_ns"`
}

// TestBenchCommandTLS benches a server started with --tls-self-signed:
// HTTP/2 streams against both floors, the certificate trusted because it is
// the server's own; from elsewhere it is refused with a way out, which
// --insecure takes.
func TestBenchCommandTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0", "--tls-self-signed")
	out, errOut, code := run(t, dir, "bench", "--port", strconv.Itoa(s.port), "--streams", "30", "--publishes", "4", "--h2", "--compare-floor", "--rounds", "1", "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	var rep struct {
		A, B       benchSide
		PlainFloor benchSide `json:"plain_floor"`
		Note       string
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json printed %q: %v", out, err)
	}
	for _, r := range []benchSide{rep.PlainFloor, rep.A, rep.B} {
		if r.Connected != 30 || r.Expected != 120 || r.Received != 120 || r.Lost != 0 || r.LatencyP50 <= 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if rep.PlainFloor.Name != "floor" || rep.A.Name != "floor-tls" || rep.B.Name != "valksor-sse" || !strings.Contains(rep.Note, "HTTP/2") {
		t.Errorf("servers %q, %q and %q, note %q", rep.PlainFloor.Name, rep.A.Name, rep.B.Name, rep.Note)
	}

	url := "https://127.0.0.1:" + strconv.Itoa(s.port) + "/sse"
	_, errOut, code = run(t, t.TempDir(), "bench", "--url", url, "--streams", "5", "--publishes", "0")
	if code == 0 || !strings.Contains(errOut, "--insecure") || !strings.Contains(errOut, "--ca FILE") {
		t.Errorf("an untrusted certificate: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"--insecure"}, {"--ca", dir + "/var/run/valksor-sse-localhost.crt", "--h2"}} {
		out, errOut, code = run(t, t.TempDir(), append([]string{"bench", "--url", url, "--streams", "5", "--publishes", "0"}, args...)...)
		if code != 0 || !strings.Contains(out, "5 connected, 0 failed") {
			t.Errorf("%v: exit %d: %s%s", args, code, out, errOut)
		}
	}
}
