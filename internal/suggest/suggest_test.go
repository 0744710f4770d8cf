package suggest_test

import (
	"testing"

	"github.com/valksor/go-sse/internal/suggest"
)

func TestClosest(t *testing.T) {
	commands := []string{"serve", "publish", "status", "stop", "tail", "dev", "assets", "token", "bench", "version", "help", "completion"}
	for _, c := range []struct {
		name, want string
	}{
		{"pubilsh", "publish"},
		{"srve", "serve"},
		{"stauts", "status"},
		{"PUBLISH", "publish"},
		{"completions", "completion"},
		{"xyz", ""},
		{"", ""},
	} {
		if got := suggest.Closest(c.name, commands); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	flags := []string{"port", "host", "config", "kill-existing", "ping_interval"}
	for _, c := range []struct{ name, want string }{
		{"prot", "port"},
		{"kill_existing", "kill-existing"},
		{"pingg", "ping_interval"},
		{"confg", "config"},
	} {
		if got := suggest.Closest(c.name, flags); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"café", "cafe", 1},
	} {
		if got := suggest.Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
