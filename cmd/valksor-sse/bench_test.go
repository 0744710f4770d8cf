package main_test

import (
	"encoding/json"
	"strconv"
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
