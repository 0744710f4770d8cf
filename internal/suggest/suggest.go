// Package suggest finds the name a user probably meant when they mistyped
// one: a command, a flag, a config key.
package suggest

import "strings"

// Closest returns the candidate closest to name, or "" when none is close
// enough to be what the user meant. Case is ignored and "-" matches "_".
// A mistyped or shortened beginning of a long name ("pingg" for
// ping_interval) counts as close.
func Closest(name string, candidates []string) string {
	n := fold(name)
	if n == "" {
		return ""
	}
	best, bestScore := "", 1<<30
	for _, c := range candidates {
		f := fold(c)
		score := Distance(n, f)
		if len(n) >= 3 && len(n) < len(f) {
			if s := Distance(n, f[:len(n)]) + 1; s < score {
				score = s
			}
		}
		if score < bestScore {
			best, bestScore = c, score
		}
	}
	limit := 2
	if len(n) <= 3 {
		limit = 1
	}
	if bestScore > limit {
		return ""
	}
	return best
}

func fold(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }

// Distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions each
// cost one.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
