package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// publishConcurrently sends the events of c from c.Publishers goroutines at
// once, each publishing back to back (the next request after the previous
// answer) over the keep-alive connections of one shared client, until
// c.Publishes have been sent. It returns what publish returns; firstSent is
// when the first request started.
func publishConcurrently(ctx context.Context, c Config) (ok []bool, firstSent time.Time, lat []int64, errs *errList, err error) {
	errs = &errList{}
	ok = make([]bool, c.Publishes)
	n := min(c.Publishers, c.Publishes)
	tr := &http.Transport{
		// An idle connection for every publisher, so that none is closed
		// and dialed again between two requests.
		MaxIdleConns:        2 * n,
		MaxIdleConnsPerHost: 2 * n,
		DisableCompression:  true,
		TLSClientConfig:     c.TLSConfig,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.PublishTimeout}

	var (
		next    atomic.Int64
		mu      sync.Mutex // guards lat
		workers sync.WaitGroup
	)
	lat = make([]int64, 0, c.Publishes)
	firstSent = time.Now()
	for range n {
		workers.Go(func() {
			mine := make([]int64, 0, c.Publishes/n+1)
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				seq := int(next.Add(1) - 1)
				if seq >= c.Publishes {
					return
				}
				sentAt := time.Now()
				if err := publishOne(ctx, client, c, seq, sentAt); err != nil {
					if ctx.Err() == nil {
						errs.add(err)
					}
					continue
				}
				mine = append(mine, int64(time.Since(sentAt)))
				ok[seq] = true // each seq belongs to one goroutine
			}
		})
	}
	workers.Wait()
	if err := ctx.Err(); err != nil {
		return ok, firstSent, lat, errs, err
	}
	if len(lat) == 0 {
		return ok, firstSent, lat, errs, fmt.Errorf("bench: every publish to %s failed: %s", c.PublishURL, strings.Join(errs.list(), "; "))
	}
	return ok, firstSent, lat, errs, nil
}

// checkModes checks the fields that choose how events are published.
func (c Config) checkModes() error {
	switch {
	case c.Publishers < 0:
		return fmt.Errorf("Publishers must not be negative, got %d", c.Publishers)
	case c.Publishers > 1 && c.Gap > 0:
		return fmt.Errorf("Publishers (%d) publish back to back: leave Gap (%v) at 0", c.Publishers, c.Gap)
	case c.SubscribeOnly && c.Publishes <= 0:
		return fmt.Errorf("SubscribeOnly waits for Publishes events: set Publishes to the number another process publishes")
	case c.SubscribeOnly && c.Slow > 0:
		return fmt.Errorf("SubscribeOnly cannot open Slow streams: the publisher fills their buffers, and it is elsewhere")
	case c.AwaitTimeout < 0:
		return fmt.Errorf("AwaitTimeout must not be negative, got %v", c.AwaitTimeout)
	}
	return nil
}
