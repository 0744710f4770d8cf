package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Watch is the file watcher of serve --watch and dev (the watch block).
type Watch struct {
	// Paths lists the paths watched for changes (key watch.paths).
	Paths []string
	// Ignore adds ignore globs to the watcher's defaults (key watch.ignore).
	Ignore []string
	// Rules maps globs to actions, "glob=action" (key watch.rules).
	Rules []string
	// Debounce is the quiet time before a change is reported (key
	// watch.debounce, 0 = the watcher's default).
	Debounce time.Duration
	// CSSWait makes stylesheet changes wait for the quiet window like
	// other changes instead of going out on their first event (key
	// watch.css_wait).
	CSSWait bool
	// Poll polls instead of using inotify (key watch.poll).
	Poll bool
	// PollInterval is the polling period (key watch.poll_interval, 0 =
	// the watcher's default).
	PollInterval time.Duration
	// Morph lets browsers morph a changed page in place instead of
	// reloading it (key watch.morph, default true).
	Morph bool
}

// checkRules validates watch.rules.
func checkRules(c Config) string {
	for _, r := range c.Watch.Rules {
		glob, action, ok := strings.Cut(r, "=")
		switch {
		case !ok || strings.TrimSpace(glob) == "":
			return fmt.Sprintf(`want "glob=action", got %q`, r)
		case action != "reload" && action != "css-update" && action != "restart" && action != "ignore":
			return fmt.Sprintf(`action %q in %q: want reload, css-update, restart or ignore`, action, r)
		}
		if _, err := filepath.Match(glob, ""); err != nil {
			return fmt.Sprintf("bad glob in %q: %v", r, err)
		}
	}
	return ""
}
