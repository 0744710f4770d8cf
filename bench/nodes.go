package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// DefaultAwaitTimeout is how long a Config.SubscribeOnly run waits for the
// first event once its streams are ready.
const DefaultAwaitTimeout = 2 * time.Minute

// await is the deadline of a SubscribeOnly run's wait for events: the first
// event within AwaitTimeout of the start, then Timeout after the latest
// delivery.
type await struct {
	first, idle time.Duration
	start       time.Time
	seen        int64     // deliveries at the latest change
	at          time.Time // when seen last changed
}

func newAwait(c Config) *await {
	return &await{first: c.AwaitTimeout, idle: c.Timeout, start: time.Now()}
}

// deadline returns when to stop waiting, given the deliveries so far.
func (a *await) deadline(received int64) time.Time {
	if received != a.seen {
		a.seen, a.at = received, time.Now()
	}
	if a.seen == 0 {
		return a.start.Add(a.first)
	}
	return a.at.Add(a.idle)
}

// NodesConfig describes a run across several servers that share one
// transport (valksor-sse with Redis): Sub.Streams streams on each of
// StreamURLs, held by one subscriber per node, and Sub.Publishes events
// published to Sub.PublishURL once every subscriber is ready. Every stream
// must receive every event, whichever node it is on.
type NodesConfig struct {
	// Name labels the run in reports, for example "3 nodes".
	Name string
	// StreamURLs are the stream URLs of the nodes, one per node.
	StreamURLs []string
	// Sub is the scenario of each node: Streams per node, Publishes, Gap,
	// Publishers, PublishURL and PublishToken (where the events go: any one
	// node), Timeout, Concurrency, SourceAddrs and so on. Its StreamURL,
	// SubscribeOnly, Ready and Progress are set per node.
	Sub Config
	// Command, when set, runs the subscriber of a node in a process of its
	// own, so that the streams of all nodes are not limited by the open
	// files of one process: it returns the command to run for node (0-based)
	// with the scenario cfg. The command must run a cfg.SubscribeOnly bench
	// (valksor-sse bench --subscribe-only), create readyFile once its
	// streams are ready, and print its Report as JSON on its standard
	// output. Nil runs every subscriber in this process.
	Command func(node int, cfg Config, readyFile string) *exec.Cmd
	// ServerPIDs, when set, are the servers' process ids, in the order of
	// StreamURLs (0: not measured): each subscriber reads its server's
	// resident memory (Config.ServerPID), giving the memory per idle stream
	// of every node.
	ServerPIDs []int
	// Progress, when set, receives a line as each node's subscriber is
	// ready and when publishing starts.
	Progress io.Writer
}

// NodesReport is what RunNodes measured: the sum over the nodes of the
// counts, and the latency percentiles over every delivery on every node.
type NodesReport struct {
	// Name is NodesConfig.Name.
	Name string `json:"name,omitempty"`
	// Nodes is the number of nodes.
	Nodes int `json:"nodes"`
	// StreamsPerNode is the streams asked for on each node.
	StreamsPerNode int `json:"streams_per_node"`
	// Connected and Failed count the streams over all nodes.
	Connected int `json:"connected"`
	Failed    int `json:"failed"`
	// Publishes is the number of publishes asked for, Published those
	// answered with a 2xx status.
	Publishes int `json:"publishes"`
	Published int `json:"published"`
	// PublishErrors are the first few distinct publish errors.
	PublishErrors []string `json:"publish_errors,omitempty"`
	// PublishP50 and PublishP99 are percentiles of the publish request
	// time.
	PublishP50 time.Duration `json:"publish_p50_ns"`
	PublishP99 time.Duration `json:"publish_p99_ns"`
	// Expected is Connected×Published; Received counts the deliveries that
	// arrived and Lost is Expected-Received.
	Expected int64 `json:"expected"`
	Received int64 `json:"received"`
	Lost     int64 `json:"lost"`
	// LatencyP50, LatencyP99 and LatencyMax are fan-out latencies over the
	// deliveries of all nodes: from the publish being sent (to one node) to
	// a stream of any node reading the event.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`
	// RSSPerStreamKB is the mean over the nodes whose server memory was
	// read (NodesConfig.ServerPIDs) of their resident memory per idle
	// stream; 0 when none was.
	RSSPerStreamKB float64 `json:"rss_per_stream_kb,omitempty"`
	// PerNode are the subscribers' reports, in the order of StreamURLs
	// (without their Latencies).
	PerNode []Report `json:"per_node"`
	// Warnings say what went wrong, prefixed with the node when it is one
	// node's.
	Warnings []string `json:"warnings,omitempty"`
}

// subscriber is the subscribe-only run of one node, in this process or in
// a child process.
type subscriber struct {
	ready chan int // receives the streams connected, once
	done  chan struct{}
	rep   Report
	err   error
	stop  func() // ends the run early
}

// RunNodes runs the scenario of c once: it starts a subscriber per node,
// waits until every one has its streams connected, publishes, waits for
// the subscribers to end (every stream has every event, or Sub.Timeout
// passed since the latest delivery) and combines their reports.
//
// Lost deliveries and failed streams or publishes are counted in the
// report, with warnings. RunNodes returns an error when c is invalid, when
// a subscriber fails or ends before it is ready, when every publish fails,
// or when ctx ends.
func RunNodes(ctx context.Context, c NodesConfig) (NodesReport, error) {
	rep := NodesReport{Name: c.Name, Nodes: len(c.StreamURLs), StreamsPerNode: c.Sub.Streams, Publishes: c.Sub.Publishes}
	pub, err := c.publisher()
	if err != nil {
		return rep, err
	}
	dir := ""
	if c.Command != nil {
		if dir, err = os.MkdirTemp("", "valksor-sse-bench-nodes-"); err != nil {
			return rep, fmt.Errorf("bench: a directory for the ready files: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	subs := make([]*subscriber, len(c.StreamURLs))
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.stop()
				<-s.done
			}
		}
	}()
	if err := c.startSubscribers(ctx, subs, dir); err != nil {
		return rep, err
	}
	if err := c.awaitReady(ctx, subs); err != nil {
		return rep, err
	}
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "publishing %d events to %s\n", pub.Publishes, pub.PublishURL)
	}
	ok, _, lat, pubErrs, err := publish(ctx, pub)
	rep.PublishErrors = pubErrs.list()
	for _, b := range ok {
		if b {
			rep.Published++
		}
	}
	if err != nil {
		return rep, err
	}
	slices.Sort(lat)
	rep.PublishP50 = time.Duration(percentile(lat, 0.50))
	rep.PublishP99 = time.Duration(percentile(lat, 0.99))
	if err := c.collect(ctx, subs, &rep); err != nil {
		return rep, err
	}
	if rep.Published < rep.Publishes {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d of %d publishes failed: %s", rep.Publishes-rep.Published, rep.Publishes, strings.Join(rep.PublishErrors, "; ")))
	}
	if rep.Lost > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("LOST %d of %d deliveries over %d nodes", rep.Lost, rep.Expected, rep.Nodes))
	}
	return rep, nil
}

// publisher checks c and returns the publisher's scenario, aimed at the
// first node (the default publish body takes its topic from the stream
// URL).
func (c NodesConfig) publisher() (Config, error) {
	if len(c.StreamURLs) == 0 {
		return Config{}, fmt.Errorf("%w: no node stream URLs", errConfig)
	}
	pub := c.Sub
	pub.StreamURL = c.StreamURLs[0]
	pub, _, err := pub.normalize()
	if err != nil {
		return pub, err
	}
	if pub.Publishes == 0 {
		return pub, fmt.Errorf("%w: Publishes must be positive to run nodes", errConfig)
	}
	if c.Command == nil {
		if lim := openFileLimit(); lim > 0 && uint64(len(c.StreamURLs)*pub.Streams)+64 > lim {
			return pub, fmt.Errorf("%w: %d nodes × %d streams need as many open files in this process, which may open %d; run each node's subscriber in a process of its own (NodesConfig.Command)", errConfig, len(c.StreamURLs), pub.Streams, lim)
		}
	}
	return pub, nil
}

// startSubscribers starts the subscriber of each node into subs: in this
// process, or with Command in a process of its own that creates its ready
// file in dir.
func (c NodesConfig) startSubscribers(ctx context.Context, subs []*subscriber, dir string) error {
	for i, u := range c.StreamURLs {
		cfg := c.Sub
		cfg.Name = fmt.Sprintf("node %d", i+1)
		cfg.StreamURL = u
		cfg.SubscribeOnly = true
		cfg.Ready, cfg.Progress, cfg.PublishBody = nil, nil, nil
		cfg.ServerPID = 0
		if i < len(c.ServerPIDs) {
			cfg.ServerPID = c.ServerPIDs[i]
		}
		if c.Command == nil {
			subs[i] = subscribeHere(ctx, cfg)
			continue
		}
		ready := filepath.Join(dir, fmt.Sprintf("node%d.ready", i+1))
		var err error
		if subs[i], err = subscribeProcess(c.Command(i, cfg, ready), ready); err != nil {
			return fmt.Errorf("bench: start the subscriber of node %d (%s): %w", i+1, u, err)
		}
	}
	return nil
}

// awaitReady waits until every node's streams are connected.
func (c NodesConfig) awaitReady(ctx context.Context, subs []*subscriber) error {
	for i, s := range subs {
		select {
		case n := <-s.ready:
			if c.Progress != nil {
				fmt.Fprintf(c.Progress, "node %d: %d streams connected\n", i+1, n)
			}
		case <-s.done:
			err := s.err
			if err == nil {
				err = errors.New("it ended before it was ready")
			}
			return fmt.Errorf("bench: the subscriber of node %d (%s): %w", i+1, c.StreamURLs[i], err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// collect waits for each node's subscriber to finish and adds its figures
// to rep: the sums, the mean memory per stream, and the percentiles of
// every latency together.
func (c NodesConfig) collect(ctx context.Context, subs []*subscriber, rep *NodesReport) error {
	var all []int64
	var rss []float64
	for i, s := range subs {
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if s.err != nil {
			return fmt.Errorf("bench: the subscriber of node %d (%s): %w", i+1, c.StreamURLs[i], s.err)
		}
		r := s.rep
		all = append(all, r.Latencies...)
		r.Latencies = nil
		rep.PerNode = append(rep.PerNode, r)
		rep.Connected += r.Connected
		rep.Failed += r.Failed
		rep.Received += r.Received
		rep.Expected += int64(r.Connected) * int64(rep.Published)
		if r.RSSAfterKB > 0 {
			rss = append(rss, r.RSSPerStreamKB)
		}
		for _, w := range r.Warnings {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("node %d: %s", i+1, w))
		}
	}
	rep.Lost = rep.Expected - rep.Received
	for _, kb := range rss {
		rep.RSSPerStreamKB += kb / float64(len(rss))
	}
	if len(all) > 0 {
		slices.Sort(all)
		rep.LatencyP50 = time.Duration(percentile(all, 0.50))
		rep.LatencyP99 = time.Duration(percentile(all, 0.99))
		rep.LatencyMax = time.Duration(all[len(all)-1])
	}
	return nil
}

// subscribeHere runs the subscriber of cfg in this process.
func subscribeHere(ctx context.Context, cfg Config) *subscriber {
	ctx, cancel := context.WithCancel(ctx)
	s := &subscriber{ready: make(chan int, 1), done: make(chan struct{}), stop: cancel}
	cfg.Ready = func(n int) { s.ready <- n }
	go func() {
		defer close(s.done)
		s.rep, s.err = Run(ctx, cfg)
	}()
	return s
}

// readyPoll is how often a subscriber process's ready file is looked for.
const readyPoll = 20 * time.Millisecond

// subscribeProcess starts cmd, a subscriber process that creates readyFile
// once ready and prints its report as JSON.
func subscribeProcess(cmd *exec.Cmd, readyFile string) (*subscriber, error) {
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &subscriber{ready: make(chan int, 1), done: make(chan struct{})}
	var killOnce sync.Once
	s.stop = func() { killOnce.Do(func() { _ = cmd.Process.Kill() }) }
	exited := make(chan struct{})
	var poller sync.WaitGroup
	// The ready file is polled: a process cannot signal this one
	// portably, and its standard output carries the report.
	poller.Go(func() {
		tick := time.NewTicker(readyPoll)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				return
			case <-tick.C:
			}
			b, err := os.ReadFile(readyFile)
			if err != nil {
				continue
			}
			var r struct {
				Connected int `json:"connected"`
			}
			_ = json.Unmarshal(b, &r)
			s.ready <- r.Connected
			return
		}
	})
	// The process's owner: it ends the poller and reads the report.
	go func() {
		defer close(s.done)
		werr := cmd.Wait()
		close(exited)
		poller.Wait()
		if werr != nil {
			s.err = fmt.Errorf("%w: %s", werr, lastLines(errOut.String(), 5))
			return
		}
		if err := json.Unmarshal(out.Bytes(), &s.rep); err != nil {
			s.err = fmt.Errorf("read its report: %w: %.200q", err, out.String())
		}
	}()
	return s, nil
}

// WriteReadyFile creates path, atomically, with {"connected":n}: the
// signal a subscriber process gives RunNodes (NodesConfig.Command).
func WriteReadyFile(path string, connected int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "{\"connected\":%d}\n", connected), 0o644); err != nil {
		return fmt.Errorf("bench: write the ready file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("bench: write the ready file: %w", err)
	}
	return nil
}

// lastLines returns the last n non-empty lines of s, joined with " | ".
func lastLines(s string, n int) string {
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(strings.ReplaceAll(l, "\r", "")); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(no output)"
	}
	return strings.Join(lines, " | ")
}

// NodesCompareReport is the result of CompareNodes: medians over the rounds
// of one node alone (A) and of all nodes (B), and every round's report.
type NodesCompareReport struct {
	// Rounds is the number of rounds run on each side.
	Rounds int `json:"rounds"`
	// A and B hold, for each side, the median over the rounds of the
	// streams connected, latencies and publish times, the memory per idle
	// stream of the servers measured first on that side (see
	// NodesConfig.ServerPIDs: the first node alone in A, the other nodes in
	// B, each in the first round it held streams), and the sum over the
	// rounds of the other counts (Expected, Received, Lost, ...), so that loss in any
	// round shows. PerNode is left out; Warnings are every round's, with its
	// number.
	A NodesReport `json:"a"`
	// B is the summary of all the nodes; see A.
	B NodesReport `json:"b"`
	// P50Ratio and P99Ratio are B's fan-out latency percentiles over A's.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// ARounds and BRounds are the reports of every round, in order.
	ARounds []NodesReport `json:"a_rounds"`
	BRounds []NodesReport `json:"b_rounds"`
}

// CompareNodes runs c rounds times with its first node alone and with all
// its nodes, alternating (one node, all nodes, one node, ...), with the
// same streams per node, and summarizes each side by its medians. It stops
// at the first RunNodes that returns an error and returns it with the
// rounds run so far.
func CompareNodes(ctx context.Context, c NodesConfig, rounds int) (NodesCompareReport, error) {
	rounds = max(rounds, 1)
	one := c
	one.StreamURLs = c.StreamURLs[:min(1, len(c.StreamURLs))]
	one.Name = "1 node"
	all := c
	all.Name = fmt.Sprintf("%d nodes", len(c.StreamURLs))
	cr := NodesCompareReport{Rounds: rounds}
	if err := alternate(ctx, rounds, fmt.Sprintf(", %d streams each", c.Sub.Streams), RunNodes,
		side[NodesConfig, NodesReport]{one.Name, one, c.Progress, &cr.ARounds},
		side[NodesConfig, NodesReport]{all.Name, all, c.Progress, &cr.BRounds}); err != nil {
		return cr, err
	}
	cr.A, cr.B = summarizeNodes(cr.ARounds), summarizeNodes(cr.BRounds)
	cr.A.RSSPerStreamKB, cr.B.RSSPerStreamKB = firstRSS(cr.ARounds, cr.BRounds)
	cr.P50Ratio = ratio(float64(cr.B.LatencyP50), float64(cr.A.LatencyP50))
	cr.P99Ratio = ratio(float64(cr.B.LatencyP99), float64(cr.A.LatencyP99))
	return cr, nil
}

// firstRSS returns the memory per idle stream of each side, as the mean
// over the servers measured on that side the first time they held streams
// in the run: a server's heap does not shrink back after a round, so a
// later reading starts from a warm, larger RSS and says little about the
// cost of a stream. The first node's first round is on side a; the other
// nodes' are on side b.
func firstRSS(a, b []NodesReport) (float64, float64) {
	seen := map[string]bool{}
	var sums [2]float64
	var counts [2]int
	for i := range max(len(a), len(b)) {
		for side, rounds := range [][]NodesReport{a, b} {
			if i >= len(rounds) {
				continue
			}
			for _, n := range rounds[i].PerNode {
				if seen[n.StreamURL] {
					continue
				}
				seen[n.StreamURL] = true
				if n.RSSAfterKB > 0 {
					sums[side] += n.RSSPerStreamKB
					counts[side]++
				}
			}
		}
	}
	var out [2]float64
	for side := range out {
		if counts[side] > 0 {
			out[side] = sums[side] / float64(counts[side])
		}
	}
	return out[0], out[1]
}

// summarizeNodes combines the rounds of one side: medians of the
// latencies, sums of the counts.
func summarizeNodes(rs []NodesReport) NodesReport {
	if len(rs) == 0 {
		return NodesReport{}
	}
	s := rs[0]
	s.PerNode, s.PublishErrors, s.Warnings = nil, nil, nil
	s.LatencyP50 = median(rs, func(r NodesReport) time.Duration { return r.LatencyP50 })
	s.LatencyP99 = median(rs, func(r NodesReport) time.Duration { return r.LatencyP99 })
	s.LatencyMax = median(rs, func(r NodesReport) time.Duration { return r.LatencyMax })
	s.PublishP50 = median(rs, func(r NodesReport) time.Duration { return r.PublishP50 })
	s.PublishP99 = median(rs, func(r NodesReport) time.Duration { return r.PublishP99 })
	s.Connected = median(rs, func(r NodesReport) int { return r.Connected })
	s.Failed, s.Publishes, s.Published = 0, 0, 0
	s.Expected, s.Received, s.Lost = 0, 0, 0
	for i, r := range rs {
		s.Failed += r.Failed
		s.Publishes += r.Publishes
		s.Published += r.Published
		s.Expected += r.Expected
		s.Received += r.Received
		s.Lost += r.Lost
		for _, w := range r.Warnings {
			s.Warnings = append(s.Warnings, fmt.Sprintf("round %d: %s", i+1, w))
		}
	}
	return s
}

// WriteTable writes the report for people: one line per node, then the
// totals and latencies, then the warnings.
func (r NodesReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, n := range r.PerNode {
		fmt.Fprintf(tw, "node %d\t%s: %d of %d streams connected, %d of %d deliveries, p50 %s p99 %s\n",
			i+1, n.StreamURL, n.Connected, n.Streams, n.Received, n.Expected, ms(n.LatencyP50), ms(n.LatencyP99))
	}
	fmt.Fprintf(tw, "streams\t%d connected, %d failed (%d nodes × %d)\n", r.Connected, r.Failed, r.Nodes, r.StreamsPerNode)
	fmt.Fprintf(tw, "publishes\t%d of %d succeeded; request p50 %s  p99 %s\n", r.Published, r.Publishes, ms(r.PublishP50), ms(r.PublishP99))
	if r.RSSPerStreamKB > 0 {
		fmt.Fprintf(tw, "server RSS\t%.2f KB per idle stream (mean over the nodes)\n", r.RSSPerStreamKB)
	}
	fmt.Fprintf(tw, "deliveries\t%d of %d received, %d lost\n", r.Received, r.Expected, r.Lost)
	fmt.Fprintf(tw, "fan-out latency\tp50 %s  p99 %s  max %s\n", ms(r.LatencyP50), ms(r.LatencyP99), ms(r.LatencyMax))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Warnings {
		if _, err := fmt.Fprintf(w, "WARNING: %s\n", s); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes the comparison for people: the medians of one node and
// of all nodes side by side, then any warnings.
func (c NodesCompareReport) WriteTable(w io.Writer) error {
	a, b := c.A, c.B
	t := newMedianTable(w, 26, c.Rounds, a.Name, b.Name, b.Name+"/"+a.Name)
	row, x := t.row, times
	row("streams per node", fmt.Sprint(a.StreamsPerNode), fmt.Sprint(b.StreamsPerNode), "")
	row("streams connected", fmt.Sprint(a.Connected), fmt.Sprint(b.Connected), "")
	row("delivered (all rounds)", fmt.Sprintf("%d/%d", a.Received, a.Expected), fmt.Sprintf("%d/%d", b.Received, b.Expected), "")
	row("lost (all rounds)", fmt.Sprint(a.Lost), fmt.Sprint(b.Lost), "")
	if a.RSSPerStreamKB > 0 || b.RSSPerStreamKB > 0 {
		row("RSS per idle stream (KB)", fmt.Sprintf("%.2f", a.RSSPerStreamKB), fmt.Sprintf("%.2f", b.RSSPerStreamKB), "")
	}
	row("fan-out p50", ms(a.LatencyP50), ms(b.LatencyP50), x(c.P50Ratio))
	row("fan-out p99", ms(a.LatencyP99), ms(b.LatencyP99), x(c.P99Ratio))
	row("fan-out max", ms(a.LatencyMax), ms(b.LatencyMax), "")
	row("publish p50", ms(a.PublishP50), ms(b.PublishP50), "")
	row("publish p99", ms(a.PublishP99), ms(b.PublishP99), "")
	if err := t.flush(); err != nil {
		return err
	}
	if err := writeWarnings(w, a.Name, a.Warnings); err != nil {
		return err
	}
	return writeWarnings(w, b.Name, b.Warnings)
}
