package config

import "strings"

// suggestion returns " (did you mean X?)" for the candidate closest to
// name, or "" when none is close; prefix is prepended to the candidate
// (for environment variable names) and matching ignores case and treats
// "-" like "_".
func suggestion(name string, candidates []string, prefix string) string {
	n := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	if n == "" {
		return ""
	}
	best, bestScore := "", 1<<30
	for _, c := range candidates {
		score := distance(n, c)
		// A mistyped or shortened beginning of a long key ("pingg" for
		// ping_interval) is close too; it costs one more edit.
		if len(n) >= 3 && len(n) < len(c) {
			if s := distance(n, c[:len(n)]) + 1; s < score {
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
	if prefix != "" {
		best = prefix + strings.ToUpper(best)
	}
	return " (did you mean " + best + "?)"
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions each
// cost one.
func distance(a, b string) int {
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
