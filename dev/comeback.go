package dev

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// comebackPoll is how often Comeback asks an app that did not answer.
const comebackPoll = 250 * time.Millisecond

// Comeback is the proxy's transport when nobody restarts the app (dev
// without a command), so nobody knows when it is back: after a request to
// the app fails, it asks the app every 250 ms until it answers, then calls
// OnUp once (the dev command reloads the pages showing the 502 page). Set
// the fields before the first request; Wait stops it.
type Comeback struct {
	// Ctx ends the polling.
	Ctx context.Context
	// Target is the URL asked with HEAD.
	Target string
	// Transport sends the requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// OnUp is called when the app answers again.
	OnUp func()

	mu      sync.Mutex
	polling bool
	stopped bool
	done    sync.WaitGroup
}

func (a *Comeback) transport() http.RoundTripper {
	if a.Transport == nil {
		return http.DefaultTransport
	}
	return a.Transport
}

// RoundTrip forwards req and notices when the app does not answer.
func (a *Comeback) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.transport().RoundTrip(req)
	if err != nil && req.Context().Err() == nil {
		a.startPolling()
	}
	return resp, err
}

func (a *Comeback) startPolling() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.polling || a.stopped || a.Ctx.Err() != nil {
		return
	}
	a.polling = true
	a.done.Add(1)
	go a.poll()
}

// poll asks the app until it answers or Ctx ends.
func (a *Comeback) poll() {
	defer a.done.Done()
	t := time.NewTicker(comebackPoll)
	defer t.Stop()
	for {
		select {
		case <-a.Ctx.Done():
			return
		case <-t.C:
		}
		req, err := http.NewRequestWithContext(a.Ctx, http.MethodHead, a.Target, nil)
		if err != nil {
			return
		}
		if resp, err := a.transport().RoundTrip(req); err == nil {
			resp.Body.Close()
			a.mu.Lock()
			a.polling = false
			a.mu.Unlock()
			a.OnUp()
			return
		}
	}
}

// Wait waits for the polling goroutine, after Ctx ended; no polling starts
// after it. A nil Comeback is fine.
func (a *Comeback) Wait() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	a.done.Wait()
}
