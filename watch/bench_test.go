package watch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/valksor/go-sse/watch"
)

// BenchmarkSaveToBatch times one save: from the write of a file to the call
// of the callback with its batch. With the default options that is the
// 5 ms quiet window plus the watcher's own overhead.
func BenchmarkSaveToBatch(b *testing.B) {
	for _, c := range []struct {
		name string
		o    watch.Options
	}{
		{"default", watch.Options{}},
		{"debounce=1ms", watch.Options{Debounce: time.Millisecond}},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			tree(b, dir, "index.html")
			h := start(b, dir, c.o)
			p := filepath.Join(dir, "index.html")
			i := 0
			for b.Loop() {
				i++
				if err := os.WriteFile(p, fmt.Appendf(nil, "<h1>%d</h1>", i), 0o644); err != nil {
					b.Fatal(err)
				}
				if got := h.next(); len(got.Files) != 1 {
					b.Fatalf("batch %q", got.Files)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/save")
		})
	}
}

// BenchmarkBurstToBatch times a 500-file checkout: from the first write to
// the callback, which must get all 500 files (batches/op stays at 1 unless
// the burst was split). ms-after-last-write is the watcher's share: the
// burst window plus overhead.
func BenchmarkBurstToBatch(b *testing.B) {
	dir := b.TempDir()
	files := make([]string, 500)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("d%d", i%5), fmt.Sprintf("f%03d.html", i))
	}
	for i := range 5 {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("d%d", i)), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	h := start(b, dir, watch.Options{})
	round, batches := 0, 0
	var settle time.Duration // from the last write to the callback
	for b.Loop() {
		round++
		for _, f := range files {
			if err := os.WriteFile(f, fmt.Appendf(nil, "round %d", round), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		last := time.Now()
		for seen := 0; seen < len(files); {
			seen += len(h.next().Files)
			batches++
		}
		settle += time.Since(last)
	}
	b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
	b.ReportMetric(float64(settle.Microseconds())/float64(b.N)/1000, "ms-after-last-write")
}

// BenchmarkPollScan times one polling scan of 2,000 files in 40
// directories: New in polling mode takes the first snapshot, which is the
// same walk every later scan does.
func BenchmarkPollScan(b *testing.B) {
	dir := b.TempDir()
	old := time.Now().Add(-time.Hour) // not racy: no content hashing
	for i := range 2000 {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.html", i))
		tree(b, dir, filepath.ToSlash(p[len(dir)+1:]))
		if err := os.Chtimes(p, old, old); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		w, err := watch.New(watch.Options{Paths: []string{dir}, Poll: true})
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
}
