package config

import (
	"strings"

	"github.com/valksor/go-sse/internal/suggest"
)

// suggestion returns " (did you mean X?)" for the candidate closest to
// name, or "" when none is close; prefix is prepended to the candidate
// (for environment variable names) and matching ignores case and treats
// "-" like "_".
func suggestion(name string, candidates []string, prefix string) string {
	best := suggest.Closest(name, candidates)
	if best == "" {
		return ""
	}
	if prefix != "" {
		best = prefix + strings.ToUpper(best)
	}
	return " (did you mean " + best + "?)"
}
