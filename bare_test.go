package sse_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
)

// TestServeStreamBare: a bare stream carries the replay, the live events and
// comment heartbeats, and none of the hub's own events (connected and its
// retry hint, history-gap, ping), nor the retry hint at shutdown.
func TestServeStreamBare(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, err := sse.New(mode, sse.WithPingInterval(20*time.Millisecond), sse.WithHistorySize(3), sse.WithRetry(1500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu        sync.Mutex
			completes []bool
		)
		mux := http.NewServeMux()
		mux.HandleFunc("/s", func(w http.ResponseWriter, r *http.Request) {
			hub.ServeStream(w, r, sse.StreamRequest{
				Topics:      []string{"a"},
				LastEventID: r.URL.Query().Get("after"),
				Bare:        true,
				Opened: func(_ http.Header, _ string, complete bool) {
					mu.Lock()
					completes = append(completes, complete)
					mu.Unlock()
				},
			})
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			id, err := hub.Publish(ctx, sse.Event{Topics: []string{"a"}, Data: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := hub.Publish(ctx, sse.Event{Topics: []string{"b"}, Data: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		// The history holds ids[3], ids[4] and the event on b. After ids[3]
		// it holds everything since; after an unknown id it cannot vouch for
		// anything and replays all it retains. Neither ends its opening with
		// an id of its own (past the event on b), which clients built on
		// fetch would take for an empty update.
		resumed := rawStream(t, srv.URL+"/s?after="+ids[3])
		gap := rawStream(t, srv.URL+"/s?after=never-sent")
		mu.Lock()
		if len(completes) != 2 || !completes[0] || completes[1] {
			t.Errorf("Opened's complete flags: %v, want [true false]", completes)
		}
		mu.Unlock()
		if gap.resp.Header.Get("X-Valksor-History-Gap") != "true" {
			t.Error("the gap is not in the X-Valksor-History-Gap header")
		}
		live, err := hub.Publish(ctx, sse.Event{Topics: []string{"a"}, Data: "live"})
		if err != nil {
			t.Fatal(err)
		}
		resumed.waitFor("id: " + live)
		gap.waitFor("id: " + live)
		resumed.waitFor(":") // a heartbeat
		gap.waitFor(":")
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := hub.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"resumed": {ids[4], live}, "gap": {ids[3], ids[4], live}}
		for name, s := range map[string]*rawLines{"resumed": resumed, "gap": gap} {
			var got []string
			blockID, blockData := "", false
			for _, l := range s.all() {
				switch {
				case strings.HasPrefix(l, "id: "):
					blockID = strings.TrimPrefix(l, "id: ")
					got = append(got, blockID)
				case strings.HasPrefix(l, "data: "):
					blockData = true
				case l == "":
					if blockID != "" && !blockData {
						t.Errorf("%s stream: a block with id %s and no data", name, blockID)
					}
					blockID, blockData = "", false
				case l == ":":
				default:
					t.Errorf("%s stream: line %q; a bare stream has ids, data, comments and blank lines only", name, l)
				}
			}
			if !slices.Equal(got, want[name]) {
				t.Errorf("%s stream: ids %v, want %v", name, got, want[name])
			}
		}
	})
}

// rawLines reads the lines of a stream as they arrive.
type rawLines struct {
	t     *testing.T
	resp  *http.Response
	lines chan string
	seen  []string
}

func rawStream(t *testing.T, url string) *rawLines {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	s := &rawLines{t: t, resp: resp, lines: make(chan string, 1024)}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			case <-stop:
				return
			}
		}
	}()
	return s
}

// waitFor reads lines until one equal to want.
func (s *rawLines) waitFor(want string) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("stream ended before %q; lines: %q", want, s.seen)
			}
			s.seen = append(s.seen, l)
			if l == want {
				return
			}
		case <-deadline:
			s.t.Fatalf("no line %q within 10s; lines: %q", want, s.seen)
		}
	}
}

// all returns every line up to the end of the stream.
func (s *rawLines) all() []string {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return s.seen
			}
			s.seen = append(s.seen, l)
		case <-deadline:
			s.t.Fatalf("the stream did not end within 10s; lines: %q", s.seen)
		}
	}
}
