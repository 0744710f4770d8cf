package dashboard

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

var memSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/sched/goroutines:goroutines"},
	{Name: "/memory/classes/total:bytes"},
}

// memory returns the process's resident set size (from /proc; the memory
// mapped by the Go runtime where there is no /proc), the bytes of live and
// not yet swept heap objects, and the number of goroutines. It does not stop
// the world, unlike runtime.ReadMemStats.
func memory() (rss, heap uint64, goroutines int) {
	s := make([]metrics.Sample, len(memSamples))
	copy(s, memSamples)
	metrics.Read(s)
	value := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	heap, goroutines, rss = value(0), int(value(1)), value(2)
	if r, ok := procRSS(); ok {
		rss = r
	}
	return rss, heap, goroutines
}

// procRSS reads the resident set size from /proc/self/statm.
func procRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
