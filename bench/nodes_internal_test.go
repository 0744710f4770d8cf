package bench

import "testing"

// TestFirstRSS takes each server's memory from the first round it held
// streams in: node 1 on the one-node side, nodes 2 and 3 on the other.
func TestFirstRSS(t *testing.T) {
	node := func(url string, kb float64) Report {
		return Report{StreamURL: url, RSSAfterKB: 1000, RSSPerStreamKB: kb}
	}
	a := []NodesReport{
		{PerNode: []Report{node("n1", 3)}},
		{PerNode: []Report{node("n1", 0.1)}},
	}
	b := []NodesReport{
		{PerNode: []Report{node("n1", 0.2), node("n2", 4), node("n3", 6)}},
		{PerNode: []Report{node("n1", 0.3), node("n2", 0.4), {StreamURL: "n4"}}},
	}
	gotA, gotB := firstRSS(a, b)
	if gotA != 3 || gotB != 5 {
		t.Errorf("firstRSS = %v, %v; want 3, 5", gotA, gotB)
	}
	if gotA, gotB := firstRSS(nil, nil); gotA != 0 || gotB != 0 {
		t.Errorf("firstRSS of nothing = %v, %v; want 0, 0", gotA, gotB)
	}
}
