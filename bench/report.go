package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what one Run measured. Durations are encoded in JSON as
// nanoseconds (the field names end in _ns); memory is in KB.
type Report struct {
	// Name is Config.Name.
	Name string `json:"name,omitempty"`
	// StreamURL is Config.StreamURL.
	StreamURL string `json:"stream_url"`
	// PublishURL is Config.PublishURL.
	PublishURL string `json:"publish_url,omitempty"`
	// Streams is the number of streams asked for.
	Streams int `json:"streams"`
	// Publishes is the number of publishes asked for.
	Publishes int `json:"publishes"`
	// Gap is Config.Gap.
	Gap time.Duration `json:"gap_ns"`
	// Protocol is how the streams spoke: "HTTP/1.1", "HTTP/1.1 over TLS"
	// or "HTTP/2, N streams per connection".
	Protocol string `json:"protocol,omitempty"`

	// Connected counts the streams that got a 200 event-stream answer.
	Connected int `json:"connected"`
	// Failed counts the streams that could not connect.
	Failed int `json:"failed"`
	// ConnectErrors are the first few distinct connect errors.
	ConnectErrors []string `json:"connect_errors,omitempty"`
	// ConnectSeconds is the time it took to connect all streams.
	ConnectSeconds float64 `json:"connect_seconds"`
	// ConnectRate is Connected per second of ConnectSeconds.
	ConnectRate float64 `json:"connect_rate"`

	// RSSBeforeKB is the server's resident memory before connecting (0:
	// not measured).
	RSSBeforeKB int64 `json:"rss_before_kb,omitempty"`
	// RSSAfterKB is the server's resident memory after connecting and
	// settling (0: not measured).
	RSSAfterKB int64 `json:"rss_after_kb,omitempty"`
	// RSSPerStreamKB is (RSSAfterKB-RSSBeforeKB)/Connected: what an idle
	// stream costs the server.
	RSSPerStreamKB float64 `json:"rss_per_stream_kb,omitempty"`

	// Published counts the publishes answered with a 2xx status.
	Published int `json:"published"`
	// PublishErrors are the first few distinct publish errors.
	PublishErrors []string `json:"publish_errors,omitempty"`
	// PublishP50 is the median time a publish request took.
	PublishP50 time.Duration `json:"publish_p50_ns"`
	// PublishP99 is the 99th percentile of the publish request time.
	PublishP99 time.Duration `json:"publish_p99_ns"`
	// Publishers is how many publishers sent the events at once (0 for a
	// Config.SubscribeOnly run, which publishes nothing).
	Publishers int `json:"publishers,omitempty"`
	// PublishSeconds is the time from the first publish being sent to the
	// last being answered.
	PublishSeconds float64 `json:"publish_seconds,omitempty"`
	// PublishesPerSec is Published divided by PublishSeconds: the publishes
	// the server accepted per second.
	PublishesPerSec float64 `json:"publishes_per_sec,omitempty"`

	// Expected is Connected×Published: the deliveries a lossless server
	// makes.
	Expected int64 `json:"expected"`
	// Received counts the deliveries of successful publishes that arrived.
	Received int64 `json:"received"`
	// Lost is Expected-Received. Anything but 0 is a failure of the server
	// (or of a stream the server dropped).
	Lost int64 `json:"lost"`
	// Duplicates counts events a stream read more than once.
	Duplicates int64 `json:"duplicates,omitempty"`
	// Foreign counts benchmark events with a sequence number out of range,
	// for example from another benchmark on the same topic.
	Foreign int64 `json:"foreign,omitempty"`
	// LongLines counts stream lines over 4 KB, which are skipped.
	LongLines int64 `json:"long_lines,omitempty"`
	// EarlyDeliveries counts events read before their send time: the clock
	// went backwards (their latency counts as 0).
	EarlyDeliveries int64 `json:"early_deliveries,omitempty"`
	// Disconnected counts streams that ended before the run did.
	Disconnected int `json:"disconnected"`
	// Slow is how many streams that never read were open during the run,
	// and SlowDropped how many of them the server had closed by its end.
	Slow        int `json:"slow"`
	SlowDropped int `json:"slow_dropped"`
	// DisconnectErrors are the first few reasons streams ended.
	DisconnectErrors []string `json:"disconnect_errors,omitempty"`
	// TimedOut is true when Run stopped waiting for deliveries after
	// Config.Timeout.
	TimedOut bool `json:"timed_out,omitempty"`

	// LatencyP50 is the median fan-out latency over all deliveries: from
	// the publish being sent to the stream reading the event.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	// LatencyP99 is the 99th percentile of the fan-out latency.
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	// LatencyMax is the largest fan-out latency.
	LatencyMax time.Duration `json:"latency_max_ns"`
	// DeliveriesPerSec is Received divided by the time from the first
	// publish being sent to the last delivery being read.
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`

	// Latencies holds, for a Config.SubscribeOnly run only, the fan-out
	// latency of every delivery in nanoseconds, sorted, so that the runs of several
	// processes combine into exact percentiles (RunNodes).
	Latencies []int64 `json:"latencies_ns,omitempty"`

	// Warnings say, in words, what went wrong: lost deliveries, failed
	// connections or publishes, dropped streams.
	Warnings []string `json:"warnings,omitempty"`
}

// warnings derives the warning lines from the counters.
func (r *Report) warnings() []string {
	var w []string
	if r.Lost > 0 {
		w = append(w, fmt.Sprintf("LOST %d of %d deliveries (%.2f%%): the server did not deliver every event to every stream",
			r.Lost, r.Expected, 100*float64(r.Lost)/float64(r.Expected)))
	}
	if r.Failed > 0 {
		w = append(w, fmt.Sprintf("%d of %d streams failed to connect: %s", r.Failed, r.Streams, strings.Join(r.ConnectErrors, "; ")))
	}
	if r.Disconnected > 0 {
		w = append(w, fmt.Sprintf("%d streams ended during the run: %s", r.Disconnected, strings.Join(r.DisconnectErrors, "; ")))
	}
	if r.Published < r.Publishes {
		w = append(w, fmt.Sprintf("%d of %d publishes failed: %s", r.Publishes-r.Published, r.Publishes, strings.Join(r.PublishErrors, "; ")))
	}
	if r.TimedOut {
		w = append(w, "stopped waiting for deliveries after the timeout")
	}
	if r.Duplicates > 0 {
		w = append(w, fmt.Sprintf("%d events arrived twice on the same stream", r.Duplicates))
	}
	if r.Foreign > 0 {
		w = append(w, fmt.Sprintf("%d benchmark events had an unknown sequence number (another benchmark on the same topic?)", r.Foreign))
	}
	if r.LongLines > 0 {
		w = append(w, fmt.Sprintf("%d lines over %d bytes were skipped", r.LongLines, readBufSize))
	}
	if r.EarlyDeliveries > 0 {
		w = append(w, fmt.Sprintf("%d events arrived before their send time: the clock jumped", r.EarlyDeliveries))
	}
	return w
}

// WriteTable writes the report for people: one figure per line, then the
// warnings.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...)
	}
	if r.Name != "" {
		row("server", "%s (%s)", r.Name, r.StreamURL)
	} else {
		row("server", "%s", r.StreamURL)
	}
	if r.Protocol != "" {
		row("protocol", "%s", r.Protocol)
	}
	row("streams", "%d connected, %d failed (of %d)", r.Connected, r.Failed, r.Streams)
	row("connect", "%.2f s, %.0f streams/s", r.ConnectSeconds, r.ConnectRate)
	if r.RSSAfterKB > 0 {
		row("server RSS", "%s before, %s after, %.2f KB per idle stream", kb(r.RSSBeforeKB), kb(r.RSSAfterKB), r.RSSPerStreamKB)
	} else {
		row("server RSS", "not measured (no server pid)")
	}
	gap := "back to back"
	if r.Gap > 0 {
		gap = fmt.Sprintf("%v apart", r.Gap)
	}
	if r.Publishers > 1 {
		gap = fmt.Sprintf("%d publishers, back to back", r.Publishers)
	}
	row("publishes", "%d of %d succeeded, %s", r.Published, r.Publishes, gap)
	if r.PublishesPerSec > 0 {
		row("publishes/s", "%.0f accepted", r.PublishesPerSec)
	}
	if r.Publishes > 0 {
		row("publish request", "p50 %s  p99 %s", ms(r.PublishP50), ms(r.PublishP99))
		row("deliveries", "%d of %d received, %d lost", r.Received, r.Expected, r.Lost)
		row("fan-out latency", "p50 %s  p99 %s  max %s", ms(r.LatencyP50), ms(r.LatencyP99), ms(r.LatencyMax))
		row("deliveries/s", "%.0f", r.DeliveriesPerSec)
	}
	if r.Slow > 0 {
		row("slow streams", "%d never read, %d dropped by the server", r.Slow, r.SlowDropped)
	}
	if r.Disconnected > 0 {
		row("disconnected", "%d streams", r.Disconnected)
	}
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

// ms formats d in milliseconds with three significant decimals.
func ms(d time.Duration) string {
	v := float64(d) / 1e6
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

// kb formats a size given in KB.
func kb(n int64) string {
	if n >= 10*1024 {
		return fmt.Sprintf("%.1f MB", float64(n)/1024)
	}
	return fmt.Sprintf("%d KB", n)
}
