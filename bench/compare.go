package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// CompareReport is the result of Compare: the median figures of each server
// over the rounds, the ratios of B to A, and every round's report.
type CompareReport struct {
	// Rounds is the number of rounds run on each server.
	Rounds int `json:"rounds"`
	// A and B hold, for each server, the median over the rounds of every
	// measured figure (connect rate, memory, latencies, deliveries/s,
	// publish times), and the sum over the rounds of every count
	// (Expected, Received, Lost, Failed, Duplicates, Disconnected, ...), so
	// that loss in any round shows. Warnings are those of every round, prefixed with
	// the round number. Name is the Config's, or "A" and "B".
	A Report `json:"a"`
	// B is the summary of the second server; see A.
	B Report `json:"b"`
	// P99Ratio is B.LatencyP99/A.LatencyP99 (0 when A's is 0).
	P99Ratio float64 `json:"p99_ratio"`
	// DeliveriesPerSecRatio is B.DeliveriesPerSec/A.DeliveriesPerSec (0
	// when A's is 0).
	DeliveriesPerSecRatio float64 `json:"deliveries_per_sec_ratio"`
	// RSSPerStreamRatio is B.RSSPerStreamKB/A.RSSPerStreamKB (0 when not
	// measured or A's is not positive).
	RSSPerStreamRatio float64 `json:"rss_per_stream_ratio"`
	// ARounds are the reports of the runs against A, in order.
	ARounds []Report `json:"a_rounds"`
	// BRounds are the reports of the runs against B, in order.
	BRounds []Report `json:"b_rounds"`
}

// Compare runs the scenario of a and of b rounds times each, alternating
// (a, b, a, b, ...) so that drifts of the machine affect both alike, and
// summarizes each side by the median of each figure. a and b would usually
// differ only in their URLs, Name and ServerPID. A line naming each round
// goes to the Progress writer of its Config.
//
// Compare stops at the first Run that returns an error and returns it with
// the rounds run so far (the summaries are left empty).
func Compare(ctx context.Context, a, b Config, rounds int) (CompareReport, error) {
	if rounds < 1 {
		rounds = 1
	}
	if a.Name == "" {
		a.Name = "A"
	}
	if b.Name == "" {
		b.Name = "B"
	}
	cr := CompareReport{Rounds: rounds}
	if err := alternate(ctx, rounds, "", Run,
		side[Config, Report]{a.Name, a, a.Progress, &cr.ARounds},
		side[Config, Report]{b.Name, b, b.Progress, &cr.BRounds}); err != nil {
		return cr, err
	}
	cr.A = summarize(cr.ARounds)
	cr.B = summarize(cr.BRounds)
	cr.P99Ratio = ratio(float64(cr.B.LatencyP99), float64(cr.A.LatencyP99))
	cr.DeliveriesPerSecRatio = ratio(cr.B.DeliveriesPerSec, cr.A.DeliveriesPerSec)
	if cr.A.RSSAfterKB > 0 && cr.B.RSSAfterKB > 0 {
		cr.RSSPerStreamRatio = ratio(cr.B.RSSPerStreamKB, cr.A.RSSPerStreamKB)
	}
	return cr, nil
}

func ratio(b, a float64) float64 {
	if a <= 0 {
		return 0
	}
	return b / a
}

// summarize combines the reports of one server: medians of the figures
// (memory from the first round),
// sums of the trouble counts.
func summarize(rs []Report) Report {
	if len(rs) == 0 {
		return Report{}
	}
	s := rs[0]
	s.ConnectErrors, s.PublishErrors, s.DisconnectErrors, s.Warnings = nil, nil, nil, nil
	s.Connected = median(rs, func(r Report) int { return r.Connected })
	s.Published = median(rs, func(r Report) int { return r.Published })
	s.ConnectSeconds = median(rs, func(r Report) float64 { return r.ConnectSeconds })
	s.ConnectRate = median(rs, func(r Report) float64 { return r.ConnectRate })
	// Memory is taken from the first round: a server's heap does not shrink
	// back after a round, so later rounds start from a warm, larger RSS and
	// their difference says little about the cost of a stream.
	s.RSSBeforeKB = rs[0].RSSBeforeKB
	s.RSSAfterKB = rs[0].RSSAfterKB
	s.RSSPerStreamKB = rs[0].RSSPerStreamKB
	s.PublishP50 = median(rs, func(r Report) time.Duration { return r.PublishP50 })
	s.PublishP99 = median(rs, func(r Report) time.Duration { return r.PublishP99 })
	s.LatencyP50 = median(rs, func(r Report) time.Duration { return r.LatencyP50 })
	s.LatencyP99 = median(rs, func(r Report) time.Duration { return r.LatencyP99 })
	s.LatencyMax = median(rs, func(r Report) time.Duration { return r.LatencyMax })
	s.DeliveriesPerSec = median(rs, func(r Report) float64 { return r.DeliveriesPerSec })
	s.PublishesPerSec = median(rs, func(r Report) float64 { return r.PublishesPerSec })

	s.Failed, s.Disconnected = 0, 0
	s.Expected, s.Received, s.Lost = 0, 0, 0
	s.Duplicates, s.Foreign, s.LongLines, s.EarlyDeliveries = 0, 0, 0, 0
	s.TimedOut = false
	for i, r := range rs {
		s.Failed += r.Failed
		s.Disconnected += r.Disconnected
		s.Expected += r.Expected
		s.Received += r.Received
		s.Lost += r.Lost
		s.Duplicates += r.Duplicates
		s.Foreign += r.Foreign
		s.LongLines += r.LongLines
		s.EarlyDeliveries += r.EarlyDeliveries
		s.TimedOut = s.TimedOut || r.TimedOut
		for _, w := range r.Warnings {
			s.Warnings = append(s.Warnings, fmt.Sprintf("round %d: %s", i+1, w))
		}
	}
	return s
}

// WriteTable writes the comparison for people: the median figures side by
// side with the ratio B/A where it is reported, then any warnings.
func (c CompareReport) WriteTable(w io.Writer) error {
	a, b := c.A, c.B
	t := newMedianTable(w, 20, c.Rounds, a.Name, b.Name, b.Name+"/"+a.Name)
	t.row("streams connected", fmt.Sprint(a.Connected), fmt.Sprint(b.Connected), "")
	t.row("connect rate (/s)", fmt.Sprintf("%.0f", a.ConnectRate), fmt.Sprintf("%.0f", b.ConnectRate), "")
	t.row("RSS per stream (KB)", rssCell(a), rssCell(b), times(c.RSSPerStreamRatio))
	t.row("latency p50", ms(a.LatencyP50), ms(b.LatencyP50), "")
	t.row("latency p99", ms(a.LatencyP99), ms(b.LatencyP99), times(c.P99Ratio))
	t.row("latency max", ms(a.LatencyMax), ms(b.LatencyMax), "")
	t.row("deliveries/s", fmt.Sprintf("%.0f", a.DeliveriesPerSec), fmt.Sprintf("%.0f", b.DeliveriesPerSec), times(c.DeliveriesPerSecRatio))
	t.row("publish p50", ms(a.PublishP50), ms(b.PublishP50), "")
	t.row("publish p99", ms(a.PublishP99), ms(b.PublishP99), "")
	t.row("lost (all rounds)", fmt.Sprint(a.Lost), fmt.Sprint(b.Lost), "")
	if err := t.flush(); err != nil {
		return err
	}
	if err := writeWarnings(w, a.Name, a.Warnings); err != nil {
		return err
	}
	return writeWarnings(w, b.Name, b.Warnings)
}

// side is one server of a comparison: its name, its scenario, where its
// progress goes, and the list its round reports go to.
type side[C, R any] struct {
	name     string
	cfg      C
	progress io.Writer
	out      *[]R
}

// alternate runs every side once a round, in turn (a, b, a, b, ...), so
// that drifts of the machine affect all alike, and appends each report to
// its side's list, the failed run's too. It stops at the first error.
// detail follows the side's name in the progress lines.
func alternate[C, R any](ctx context.Context, rounds int, detail string, run func(context.Context, C) (R, error), sides ...side[C, R]) error {
	for i := range rounds {
		for _, s := range sides {
			if s.progress != nil {
				fmt.Fprintf(s.progress, "round %d/%d: %s%s\n", i+1, rounds, s.name, detail)
			}
			r, err := run(ctx, s.cfg)
			*s.out = append(*s.out, r)
			if err != nil {
				return fmt.Errorf("bench: compare, round %d on %s: %w", i+1, s.name, err)
			}
		}
	}
	return nil
}

// median returns the median of f over rs: the middle value, or the mean of
// the middle two for an even count.
func median[R any, V ~int | ~int64 | ~float64](rs []R, f func(R) V) V {
	v := make([]V, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[n/2]
}
