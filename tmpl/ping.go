package tmpl

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// pinger caches the health of the SSE server, refreshing it with at most
// one request at a time.
type pinger struct {
	url     string
	client  *http.Client
	ttl     time.Duration
	timeout time.Duration

	mu        sync.Mutex
	known     bool // a check has completed
	up        bool
	checkedAt time.Time
	running   chan struct{} // closed when the running check ends; nil when idle
}

// Up reports whether the last check succeeded. A stale or missing result
// starts a background check; only callers that have no result at all wait
// for it, and no longer than the timeout.
func (p *pinger) Up() bool {
	p.mu.Lock()
	if p.known && time.Since(p.checkedAt) < p.ttl {
		up := p.up
		p.mu.Unlock()
		return up
	}
	if p.running == nil {
		p.running = make(chan struct{})
		go p.check(p.running)
	}
	if p.known {
		up := p.up // stale while revalidating
		p.mu.Unlock()
		return up
	}
	done := p.running
	p.mu.Unlock()

	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.known && p.up
}

func (p *pinger) check(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	up := false
	if req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil); err == nil {
		if resp, err := p.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			_ = resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
		}
	}
	p.mu.Lock()
	p.known, p.up, p.checkedAt, p.running = true, up, time.Now(), nil
	p.mu.Unlock()
	close(done)
}
