package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
)

// TLSCompareReport is the result of CompareTLS. Its CompareReport compares
// the server under test (B) with the TLS floor (A); PlainFloor adds the
// plaintext floor of the same rounds, so that what TLS itself costs a
// stream shows next to what the server adds.
type TLSCompareReport struct {
	CompareReport
	// PlainFloor is the summary of the plaintext floor's rounds (see
	// CompareReport.A).
	PlainFloor Report `json:"plain_floor"`
	// PlainFloorRounds are the reports of the runs against the plaintext
	// floor, in order.
	PlainFloorRounds []Report `json:"plain_floor_rounds"`
	// TLSFloorRSSRatio is A.RSSPerStreamKB/PlainFloor.RSSPerStreamKB: what
	// a TLS stream costs the floor relative to a plaintext one (0 when not
	// measured).
	TLSFloorRSSRatio float64 `json:"tls_floor_rss_ratio"`
	// TLSFloorExtraKB is A.RSSPerStreamKB-PlainFloor.RSSPerStreamKB: the
	// memory TLS adds to a stream at the floor, its record buffers and
	// cipher state.
	TLSFloorExtraKB float64 `json:"tls_floor_extra_kb"`
	// PlainFloorRSSRatio is B.RSSPerStreamKB/PlainFloor.RSSPerStreamKB (0
	// when not measured).
	PlainFloorRSSRatio float64 `json:"plain_floor_rss_ratio"`
	// PlainFloorP99Ratio is B.LatencyP99/PlainFloor.LatencyP99.
	PlainFloorP99Ratio float64 `json:"plain_floor_p99_ratio"`
	// Note says what is compared with what when the sides differ in more
	// than TLS, as HTTP/2 streams against the TLS floor's HTTP/1.1 streams.
	Note string `json:"note,omitempty"`
}

// CompareTLS runs the scenario against the plaintext floor, the TLS floor
// and the server under test, rounds times each, alternating (plain, tls,
// server, plain, ...), and summarizes each by its medians as Compare does.
// It stops at the first Run that returns an error and returns it with the
// rounds run so far.
func CompareTLS(ctx context.Context, plainFloor, tlsFloor, server Config, rounds int) (TLSCompareReport, error) {
	rounds = max(rounds, 1)
	plainFloor.Name = cmp.Or(plainFloor.Name, "floor")
	tlsFloor.Name = cmp.Or(tlsFloor.Name, "floor-tls")
	server.Name = cmp.Or(server.Name, "server")
	r := TLSCompareReport{CompareReport: CompareReport{Rounds: rounds}}
	if err := alternate(ctx, rounds, "", Run,
		side[Config, Report]{plainFloor.Name, plainFloor, plainFloor.Progress, &r.PlainFloorRounds},
		side[Config, Report]{tlsFloor.Name, tlsFloor, tlsFloor.Progress, &r.ARounds},
		side[Config, Report]{server.Name, server, server.Progress, &r.BRounds}); err != nil {
		return r, err
	}
	r.PlainFloor = summarize(r.PlainFloorRounds)
	r.A = summarize(r.ARounds)
	r.B = summarize(r.BRounds)
	r.P99Ratio = ratio(float64(r.B.LatencyP99), float64(r.A.LatencyP99))
	r.DeliveriesPerSecRatio = ratio(r.B.DeliveriesPerSec, r.A.DeliveriesPerSec)
	r.PlainFloorP99Ratio = ratio(float64(r.B.LatencyP99), float64(r.PlainFloor.LatencyP99))
	if r.PlainFloor.RSSAfterKB > 0 && r.A.RSSAfterKB > 0 {
		r.TLSFloorRSSRatio = ratio(r.A.RSSPerStreamKB, r.PlainFloor.RSSPerStreamKB)
		r.TLSFloorExtraKB = r.A.RSSPerStreamKB - r.PlainFloor.RSSPerStreamKB
	}
	if r.A.RSSAfterKB > 0 && r.B.RSSAfterKB > 0 {
		r.RSSPerStreamRatio = ratio(r.B.RSSPerStreamKB, r.A.RSSPerStreamKB)
	}
	if r.PlainFloor.RSSAfterKB > 0 && r.B.RSSAfterKB > 0 {
		r.PlainFloorRSSRatio = ratio(r.B.RSSPerStreamKB, r.PlainFloor.RSSPerStreamKB)
	}
	if server.H2 {
		r.Note = fmt.Sprintf("%s opens HTTP/2 streams (%d per connection); the floors serve HTTP/1.1 only, so the TLS floor's figures are those of TLS HTTP/1.1 streams, one connection each",
			server.Name, cmp.Or(server.H2StreamsPerConn, DefaultH2StreamsPerConn))
	}
	return r, nil
}

// WriteTable writes the comparison for people: the median figures of the
// three sides, the server against the TLS floor and the TLS floor against
// the plaintext floor, then the note and any warnings.
func (c TLSCompareReport) WriteTable(w io.Writer) error {
	p, a, b := c.PlainFloor, c.A, c.B
	t := newMedianTable(w, 20, c.Rounds, p.Name, a.Name, b.Name, a.Name+"/"+p.Name, b.Name+"/"+a.Name, b.Name+"/"+p.Name)
	row, x, rss := t.row, times, rssCell
	row("streams connected", fmt.Sprint(p.Connected), fmt.Sprint(a.Connected), fmt.Sprint(b.Connected), "", "", "")
	row("connect rate (/s)", fmt.Sprintf("%.0f", p.ConnectRate), fmt.Sprintf("%.0f", a.ConnectRate), fmt.Sprintf("%.0f", b.ConnectRate), "", "", "")
	row("RSS per stream (KB)", rss(p), rss(a), rss(b), x(c.TLSFloorRSSRatio), x(c.RSSPerStreamRatio), x(c.PlainFloorRSSRatio))
	row("latency p50", ms(p.LatencyP50), ms(a.LatencyP50), ms(b.LatencyP50), "", "", "")
	row("latency p99", ms(p.LatencyP99), ms(a.LatencyP99), ms(b.LatencyP99),
		x(ratio(float64(a.LatencyP99), float64(p.LatencyP99))), x(c.P99Ratio), x(c.PlainFloorP99Ratio))
	row("latency max", ms(p.LatencyMax), ms(a.LatencyMax), ms(b.LatencyMax), "", "", "")
	row("deliveries/s", fmt.Sprintf("%.0f", p.DeliveriesPerSec), fmt.Sprintf("%.0f", a.DeliveriesPerSec), fmt.Sprintf("%.0f", b.DeliveriesPerSec),
		x(ratio(a.DeliveriesPerSec, p.DeliveriesPerSec)), x(c.DeliveriesPerSecRatio), x(ratio(b.DeliveriesPerSec, p.DeliveriesPerSec)))
	row("lost (all rounds)", fmt.Sprint(p.Lost), fmt.Sprint(a.Lost), fmt.Sprint(b.Lost), "", "", "")
	if err := t.flush(); err != nil {
		return err
	}
	if c.TLSFloorRSSRatio > 0 {
		if _, err := fmt.Fprintf(w, "TLS at the floor: %+.2f KB per stream (record buffers and cipher state)\n", c.TLSFloorExtraKB); err != nil {
			return err
		}
	}
	if c.Note != "" {
		if _, err := fmt.Fprintf(w, "NOTE: %s\n", c.Note); err != nil {
			return err
		}
	}
	for _, r := range []Report{p, a, b} {
		if err := writeWarnings(w, r.Name, r.Warnings); err != nil {
			return err
		}
	}
	return nil
}
