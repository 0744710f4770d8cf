package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// medianTable writes a comparison table for people: a label column padded
// to one width, so that labels read left-aligned while the figures align
// right, then one column per side and ratio.
type medianTable struct {
	tw    *tabwriter.Writer
	label string
}

// newMedianTable starts a table whose labels are padded to width, with a
// header row of "median of N rounds" and the column names.
func newMedianTable(w io.Writer, width, rounds int, columns ...string) *medianTable {
	t := &medianTable{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight), label: fmt.Sprintf("%%-%ds", width)}
	t.row(fmt.Sprintf("median of %d rounds", rounds), columns...)
	return t
}

// row writes one row: its label and its cells.
func (t *medianTable) row(label string, cells ...string) {
	fmt.Fprintf(t.tw, t.label, label)
	for _, c := range cells {
		fmt.Fprintf(t.tw, "\t%s", c)
	}
	fmt.Fprint(t.tw, "\t\n")
}

// flush writes the table out.
func (t *medianTable) flush() error { return t.tw.Flush() }

// times formats a ratio as "1.23x", or "n/a" when there is none (0).
func times(v float64) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", v)
}

// rssCell formats a report's memory per idle stream in KB, or "n/a" when
// it was not read.
func rssCell(r Report) string {
	if r.RSSAfterKB == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", r.RSSPerStreamKB)
}

// writeWarnings writes the warnings of one side of a comparison, each on a
// line of its own under the side's name.
func writeWarnings(w io.Writer, name string, warnings []string) error {
	for _, s := range warnings {
		if _, err := fmt.Fprintf(w, "WARNING: %s: %s\n", name, s); err != nil {
			return err
		}
	}
	return nil
}
