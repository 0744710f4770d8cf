package dev

import (
	"net"
	"net/url"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/web"
)

// AnsweredReload is the reload event for an app known to answer right
// now: it tells the client to reload (or morph) without first probing the
// page (probe: false), which saves the browser a round trip. noMorph adds
// morph: false, so that the page reloads instead of morphing.
func AnsweredReload(noMorph bool, files ...string) sse.Event {
	return web.ReloadEvent(files, web.ReloadOptions{NoProbe: true, NoMorph: noMorph})
}

// ReloadFor returns the maker of the reload events of the app at target:
// AnsweredReload when the app is known to answer, otherwise the standard
// event, whose probe makes pages wait until the app is back. With a
// runner its state says (ready, or not); without one the app is asked for
// a connection (a quarter of a second at most). noMorph makes every event
// carry morph: false.
func ReloadFor(target *url.URL, runner *Runner, noMorph bool) func(files ...string) sse.Event {
	probed := func(files ...string) sse.Event {
		return web.ReloadEvent(files, web.ReloadOptions{NoMorph: noMorph})
	}
	if runner != nil {
		return func(files ...string) sse.Event {
			if runner.State().Phase == PhaseReady {
				return AnsweredReload(noMorph, files...)
			}
			return probed(files...)
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
			return probed(files...)
		}
		_ = c.Close()
		return AnsweredReload(noMorph, files...)
	}
}
