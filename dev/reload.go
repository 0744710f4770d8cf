package dev

import (
	"net"
	"net/url"
	"time"

	sse "github.com/valksor/go-sse"
)

// AnsweredReload is the reload event for an app known to answer right
// now: it tells the client to reload without first probing the page with
// HEAD (probe: false), which saves the browser a round trip.
func AnsweredReload(files ...string) sse.Event {
	if files == nil {
		files = []string{}
	}
	return sse.Event{Type: sse.TypeReload, Data: map[string]any{"files": files, "probe": false}}
}

// ReloadFor returns the maker of the reload events of the app at target:
// AnsweredReload when the app is known to answer, otherwise the standard
// event, whose probe makes pages wait until the app is back. With a
// runner its state says (ready, or not); without one the app is asked for
// a connection (a quarter of a second at most).
func ReloadFor(target *url.URL, runner *Runner) func(files ...string) sse.Event {
	if runner != nil {
		return func(files ...string) sse.Event {
			if runner.State().Phase == PhaseReady {
				return AnsweredReload(files...)
			}
			return sse.Reload(files...)
		}
	}
	addr := target.Host
	if target.Port() == "" {
		port := "80"
		if target.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(target.Hostname(), port)
	}
	return func(files ...string) sse.Event {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err != nil {
			return sse.Reload(files...)
		}
		_ = c.Close()
		return AnsweredReload(files...)
	}
}
