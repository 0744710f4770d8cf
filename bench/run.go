package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxErrors is how many distinct error messages a report keeps per kind.
const maxErrors = 5

// errList keeps the first few distinct error messages with their counts.
type errList struct {
	mu    sync.Mutex
	msgs  []string
	count []int
	total int
}

func (l *errList) add(err error) {
	msg := err.Error()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	for i, m := range l.msgs {
		if m == msg {
			l.count[i]++
			return
		}
	}
	if len(l.msgs) < maxErrors {
		l.msgs = append(l.msgs, msg)
		l.count = append(l.count, 1)
	}
}

// list returns the messages, each with its count when above one, or nil.
func (l *errList) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i, m := range l.msgs {
		if l.count[i] > 1 {
			m = fmt.Sprintf("%s (%d times)", m, l.count[i])
		}
		out = append(out, m)
	}
	if n := l.total - sum(l.count); n > 0 {
		out = append(out, fmt.Sprintf("and %d more", n))
	}
	return out
}

func sum(v []int) int {
	t := 0
	for _, n := range v {
		t += n
	}
	return t
}

// Run runs the scenario of cfg once: it connects cfg.Streams streams to
// cfg.StreamURL, waits cfg.SettleTime, publishes cfg.Publishes events to
// cfg.PublishURL and waits until every connected stream has read every
// event that was published successfully, or cfg.Timeout after the last
// publish. It then closes the streams and reports what it measured.
//
// Failed connections, failed publishes, dropped streams and lost deliveries
// are counted in the report (with warnings), not returned as errors. Run
// returns an error, with the report so far, when cfg is invalid, when no
// stream connected, when every publish failed, or when ctx ends.
func Run(ctx context.Context, cfg Config) (Report, error) {
	c, u, err := cfg.normalize()
	rep := Report{
		Name:       cfg.Name,
		StreamURL:  cfg.StreamURL,
		PublishURL: cfg.PublishURL,
		Streams:    cfg.Streams,
		Publishes:  cfg.Publishes,
		Gap:        cfg.Gap,
	}
	if err != nil {
		return rep, err
	}
	rep.Protocol = c.protocol(u)
	if lim := openFileLimit(); lim > 0 && uint64(c.Streams)+32 > lim {
		return rep, fmt.Errorf("%w: %d streams need as many open files, and this process may open %d; raise the limit (ulimit -n) or use fewer streams", errConfig, c.Streams, lim)
	}
	t, err := newTarget(ctx, c, u)
	if err != nil {
		return rep, err
	}
	r := &run{c: c, t: t, rec: newRecorder(c), rep: rep, streams: make([]*stream, c.Streams)}
	err = r.steps(ctx)
	r.rep.Warnings = append(r.warn, r.rep.warnings()...)
	return r.rep, err
}

// run is one run in progress: its configuration, its streams, and the
// report it fills in.
type run struct {
	c       Config
	t       *target
	rec     *recorder
	rep     Report
	warn    []string // problems that did not stop the run
	streams []*stream

	readers   sync.WaitGroup // one reading goroutine per stream
	closing   atomic.Bool    // the streams are being closed on purpose
	closeOnce sync.Once
}

// steps runs the scenario: a baseline of the server's memory, the streams
// connected, their memory, the publishes, the wait for the deliveries, and
// the figures.
func (r *run) steps(ctx context.Context) error {
	r.baseline(ctx)
	r.connect(ctx)
	defer r.closeAll() // whatever happens, the streams end with the run
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.rep.Connected == 0 {
		return fmt.Errorf("bench: no stream connected to %s: %s", r.c.StreamURL, strings.Join(r.rep.ConnectErrors, "; "))
	}
	if err := r.settle(ctx); err != nil {
		return err
	}
	// Streams that never read, opened after the memory reading.
	slow := openSlow(ctx, r.t, r.c.Slow)
	r.rep.Slow = len(slow)
	defer func() {
		for _, conn := range slow {
			conn.Close()
		}
	}()
	if r.c.Ready != nil {
		r.c.Ready(r.rep.Connected)
	}
	ok, firstSent, err := r.publish(ctx)
	if err != nil {
		return err
	}
	if err := r.await(ctx, ok); err != nil {
		return err
	}
	r.closeAll()
	r.rep.SlowDropped = countDropped(slow)
	r.figures(ok, firstSent)
	return nil
}

// baseline asks a floor server to drop an earlier run's streams and reads
// the server's memory before any stream connects.
func (r *run) baseline(ctx context.Context) {
	if r.c.ResetURL != "" {
		if err := postReset(ctx, r.c.ResetURL, r.c.TLSConfig); err != nil {
			r.warn = append(r.warn, err.Error())
		}
	}
	if r.c.ServerPID > 0 {
		kb, err := readRSS(r.c.ServerPID)
		if err != nil {
			r.warn = append(r.warn, err.Error())
		}
		r.rep.RSSBeforeKB = kb
	}
}

// connect opens the streams, Concurrency at a time, each read by a
// goroutine of its own until closeAll.
func (r *run) connect(ctx context.Context) {
	var (
		connected, failed atomic.Int64
		next              atomic.Int64
		connErrs          errList
		workers           sync.WaitGroup
	)
	prog := startProgress(r.c.Progress, r.c.Streams, &connected, &failed)
	start := time.Now()
	for range r.c.Concurrency {
		workers.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= r.c.Streams {
					return
				}
				s, err := dial(ctx, r.t, r.rec, i)
				if err != nil {
					failed.Add(1)
					connErrs.add(err)
					continue
				}
				r.streams[i] = s
				connected.Add(1)
				r.readers.Go(func() {
					err := s.read()
					if !r.closing.Load() {
						s.err = err
						s.dead.Store(true)
					}
				})
			}
		})
	}
	workers.Wait()
	prog.stop()
	connectTime := time.Since(start)
	r.rep.Connected = int(connected.Load())
	r.rep.Failed = int(failed.Load())
	r.rep.ConnectErrors = connErrs.list()
	r.rep.ConnectSeconds = connectTime.Seconds()
	if connectTime > 0 {
		r.rep.ConnectRate = float64(r.rep.Connected) / connectTime.Seconds()
	}
}

// closeAll ends every stream, waits for their readers, and closes the
// target's connections. Only the first call does anything.
func (r *run) closeAll() {
	r.closeOnce.Do(func() {
		r.closing.Store(true)
		for _, s := range r.streams {
			if s != nil {
				s.conn.Close()
			}
		}
		r.readers.Wait()
		r.t.close()
	})
}

// settle waits SettleTime for the server to quiesce, then reads its
// memory per idle stream.
func (r *run) settle(ctx context.Context) error {
	if r.c.SettleTime > 0 {
		if err := sleep(ctx, r.c.SettleTime); err != nil {
			return err
		}
	}
	if r.c.ServerPID > 0 {
		kb, err := readRSS(r.c.ServerPID)
		if err != nil {
			r.warn = append(r.warn, err.Error())
		} else if r.rep.RSSBeforeKB > 0 {
			r.rep.RSSAfterKB = kb
			r.rep.RSSPerStreamKB = float64(kb-r.rep.RSSBeforeKB) / float64(r.rep.Connected)
		}
	}
	return nil
}

// publish sends the events (or, subscribing only, expects another
// process's) and records the publish figures. ok[seq] tells which events
// were accepted.
func (r *run) publish(ctx context.Context) (ok []bool, firstSent time.Time, err error) {
	pubStart := time.Now()
	ok, firstSent, pubLat, pubErrs, err := publish(ctx, r.c)
	rep := &r.rep
	rep.Publishers = max(r.c.Publishers, 1)
	if r.c.SubscribeOnly {
		rep.Publishers = 0
	} else if d := time.Since(pubStart); d > 0 {
		rep.PublishSeconds = d.Seconds()
	}
	rep.PublishErrors = pubErrs.list()
	for _, b := range ok {
		if b {
			rep.Published++
		}
	}
	if rep.PublishSeconds > 0 {
		rep.PublishesPerSec = float64(rep.Published) / rep.PublishSeconds
	}
	if err != nil {
		return ok, firstSent, err
	}
	if len(pubLat) > 0 {
		slices.Sort(pubLat)
		rep.PublishP50 = time.Duration(percentile(pubLat, 0.50))
		rep.PublishP99 = time.Duration(percentile(pubLat, 0.99))
	}
	return ok, firstSent, nil
}

// await waits until every live stream has every accepted event, or
// Timeout (subscribing only: the await deadlines) passes.
func (r *run) await(ctx context.Context, ok []bool) error {
	okCount := r.rep.Published
	r.rep.Expected = int64(r.rep.Connected) * int64(okCount)
	received := func() int64 {
		var n int64
		for seq, b := range ok {
			if b {
				n += r.rec.n[seq].Load()
			}
		}
		return n
	}
	waiting := func() bool {
		for _, s := range r.streams {
			if s != nil && !s.dead.Load() && s.got.Load() < int64(okCount) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(r.c.Timeout)
	aw := newAwait(r.c)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for received() < r.rep.Expected && waiting() {
		if r.c.SubscribeOnly {
			deadline = aw.deadline(received())
		}
		if time.Now().After(deadline) {
			r.rep.TimedOut = true
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// figures fills in the report from the streams and the recorded
// latencies, once the streams are closed.
func (r *run) figures(ok []bool, firstSent time.Time) {
	rep := &r.rep
	var lastRecv int64
	for _, s := range r.streams {
		if s == nil {
			continue
		}
		if s.err != nil {
			rep.Disconnected++
			if rep.Disconnected <= maxErrors {
				rep.DisconnectErrors = append(rep.DisconnectErrors, s.err.Error())
			}
		}
		rep.Duplicates += int64(s.dup)
		rep.Foreign += int64(s.foreign)
		rep.LongLines += int64(s.long)
		lastRecv = max(lastRecv, s.last)
	}
	var all []int64
	if rep.Expected > 0 {
		all = make([]int64, 0, rep.Expected)
	}
	for seq, b := range ok {
		if b {
			all = append(all, r.rec.lat[seq][:r.rec.n[seq].Load()]...)
		}
	}
	rep.Received = int64(len(all))
	rep.Lost = rep.Expected - rep.Received
	rep.EarlyDeliveries = r.rec.early.Load()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	rep.LatencyP50 = time.Duration(percentile(all, 0.50))
	rep.LatencyP99 = time.Duration(percentile(all, 0.99))
	rep.LatencyMax = time.Duration(all[len(all)-1])
	if r.c.SubscribeOnly {
		rep.Latencies = all
	}
	if span := lastRecv - firstSent.UnixNano(); !firstSent.IsZero() && span > 0 {
		rep.DeliveriesPerSec = float64(len(all)) / (float64(span) / 1e9)
	}
}

// publish sends the events, back to back or Gap apart. ok[seq] tells which
// were answered with a 2xx status. It returns an error only when ctx ends or
// every publish failed.
func publish(ctx context.Context, c Config) (ok []bool, firstSent time.Time, lat []int64, errs *errList, err error) {
	errs = &errList{}
	ok = make([]bool, c.Publishes)
	if c.SubscribeOnly {
		// Another process publishes: every event is expected.
		for i := range ok {
			ok[i] = true
		}
		return ok, firstSent, nil, errs, nil
	}
	if c.Publishes == 0 {
		return ok, firstSent, nil, errs, nil
	}
	if c.Publishers > 1 {
		return publishConcurrently(ctx, c)
	}
	tr := &http.Transport{
		MaxIdleConnsPerHost: 2,
		DisableCompression:  true,
		TLSClientConfig:     c.TLSConfig,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.PublishTimeout}
	lat = make([]int64, 0, c.Publishes)
	start := time.Now()
	for seq := range c.Publishes {
		if c.Gap > 0 && seq > 0 {
			if err := sleep(ctx, time.Until(start.Add(time.Duration(seq)*c.Gap))); err != nil {
				return ok, firstSent, lat, errs, err
			}
		}
		sentAt := time.Now()
		if err := publishOne(ctx, client, c, seq, sentAt); err != nil {
			if ctx.Err() != nil {
				return ok, firstSent, lat, errs, ctx.Err()
			}
			errs.add(err)
			continue
		}
		lat = append(lat, int64(time.Since(sentAt)))
		if firstSent.IsZero() {
			firstSent = sentAt
		}
		ok[seq] = true
	}
	if len(lat) == 0 {
		return ok, firstSent, lat, errs, fmt.Errorf("bench: every publish to %s failed: %s", c.PublishURL, strings.Join(errs.list(), "; "))
	}
	return ok, firstSent, lat, errs, nil
}

// publishOne sends publish seq and checks the answer is a 2xx.
func publishOne(ctx context.Context, client *http.Client, c Config, seq int, sentAt time.Time) error {
	ctype, body := c.PublishBody(seq, sentAt)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.PublishURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.PublishToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.PublishToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		msg := strings.Join(strings.Fields(string(head)), " ")
		return fmt.Errorf("publish: HTTP %d: %.200s", resp.StatusCode, msg)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// percentile returns the nearest-rank p-quantile of sorted, which must not
// be empty.
func percentile(sorted []int64, p float64) int64 {
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// postReset asks a floor server to drop the streams of earlier runs; tc is
// the TLS configuration of an https floor.
func postReset(ctx context.Context, url string, tc *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return fmt.Errorf("bench: reset %s: %w", url, err)
	}
	tr := &http.Transport{TLSClientConfig: tc}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("bench: reset %s: %w", url, err)
	}
	resp.Body.Close()
	return nil
}

// openSlow opens n streams that send their request and never read.
func openSlow(ctx context.Context, t *target, n int) []net.Conn {
	var out []net.Conn
	for range n {
		// A small receive buffer, set before connecting so the window stays
		// small, makes the server's side fill up sooner.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { setReceiveBuffer(fd, 4096) })
		}}
		conn, err := d.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			continue
		}
		if t.tls != nil {
			conn = tls.Client(conn, t.tls)
		}
		if _, err := conn.Write(t.request); err != nil {
			conn.Close()
			continue
		}
		out = append(out, conn)
	}
	return out
}

// countDropped reports how many of the never-read streams the server has
// closed: reading what it sent ends at EOF (or a reset) only then.
func countDropped(conns []net.Conn) int {
	n := 0
	buf := make([]byte, 64<<10)
	for _, conn := range conns {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			_, err := conn.Read(buf)
			if err == nil {
				continue
			}
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) {
				n++ // EOF or reset: the server closed it
			}
			break
		}
	}
	return n
}
