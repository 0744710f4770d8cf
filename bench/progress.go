package bench

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// progress prints the connect progress to w until stop is called.
type progress struct {
	w         io.Writer
	tty       bool
	total     int64
	start     time.Time
	ok, fail  *atomic.Int64
	printed   int // tenths already printed (not a terminal)
	width     int // length of the last line written in place
	stopC     chan struct{}
	doneC     chan struct{}
	lastShown int64
}

func startProgress(w io.Writer, total int, ok, fail *atomic.Int64) *progress {
	p := &progress{w: w, tty: isTerminal(w), total: int64(total), start: time.Now(), ok: ok, fail: fail,
		stopC: make(chan struct{}), doneC: make(chan struct{}), lastShown: -1}
	if w == nil {
		close(p.doneC)
		return p
	}
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer close(p.doneC)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stopC:
			p.show(true)
			return
		case <-t.C:
			p.show(false)
		}
	}
}

// show prints the current line: in place on a terminal, otherwise when
// another tenth of the streams is done (and at the end).
func (p *progress) show(final bool) {
	ok, fail := p.ok.Load(), p.fail.Load()
	done := ok + fail
	elapsed := time.Since(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(ok) / elapsed
	}
	line := fmt.Sprintf("connected %d/%d (%.0f/s)", ok, p.total, rate)
	if fail > 0 {
		line += fmt.Sprintf(", %d failed", fail)
	}
	if p.tty {
		pad := ""
		if n := p.width - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		p.width = len(line)
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r%s%s%s", line, pad, end)
		return
	}
	tenth := int(done * 10 / max(p.total, 1))
	if tenth > p.printed || (final && done != p.lastShown) {
		p.printed = tenth
		p.lastShown = done
		fmt.Fprintln(p.w, line)
	}
}

// stop prints the final line and waits for the printer to end.
func (p *progress) stop() {
	select {
	case <-p.doneC:
		return
	default:
	}
	close(p.stopC)
	<-p.doneC
}
