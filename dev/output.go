package dev

import (
	"bytes"
	"io"
	"sync"
	"unicode/utf8"
)

// OutputLimit is how much of a run's output [State].Output keeps: the last
// 64 KiB, after ANSI escape sequences are removed.
const OutputLimit = 64 << 10

// ansiState is where the escape-sequence filter is inside its input.
type ansiState uint8

const (
	ansiText         ansiState = iota
	ansiEscape                 // after ESC
	ansiCSI                    // after ESC [, until a final byte
	ansiIntermediate           // after ESC and an intermediate byte (ESC ( B)
	ansiString                 // OSC, DCS, SOS, PM, APC: until BEL or ESC \
	ansiStringEscape           // ESC inside a string
)

// outputTail keeps the last OutputLimit bytes of a run's output with ANSI
// escape sequences and control characters removed and line endings made
// "\n". Writes may be split anywhere, even inside an escape sequence. It is
// safe for concurrent use.
type outputTail struct {
	mu  sync.Mutex
	buf []byte
	cut bool // bytes were dropped from the front
	st  ansiState
	cr  bool // the last text byte was '\r'
}

// Write filters p into the tail; it never fails.
func (t *outputTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range p {
		t.filter(c)
	}
	if len(t.buf) > 2*OutputLimit {
		n := copy(t.buf, t.buf[len(t.buf)-OutputLimit:])
		t.buf = t.buf[:n]
		t.cut = true
	}
	return len(p), nil
}

// filter runs one byte through the escape-sequence state machine.
func (t *outputTail) filter(c byte) {
	const esc = 0x1b
	switch t.st {
	case ansiEscape:
		switch {
		case c == '[':
			t.st = ansiCSI
		case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
			t.st = ansiString
		case c >= 0x20 && c <= 0x2f:
			t.st = ansiIntermediate
		case c >= 0x30 && c <= 0x7e:
			t.st = ansiText // a two-byte sequence such as ESC 7
		default:
			t.st = ansiText
			t.text(c) // not a sequence after all
		}
	case ansiCSI:
		switch {
		case c >= 0x40 && c <= 0x7e:
			t.st = ansiText
		case c >= 0x20 && c <= 0x3f:
			// parameter or intermediate byte
		default:
			t.st = ansiText // malformed: keep what follows
			t.text(c)
		}
	case ansiIntermediate:
		switch {
		case c >= 0x20 && c <= 0x2f:
		case c >= 0x30 && c <= 0x7e:
			t.st = ansiText
		default:
			t.st = ansiText
			t.text(c)
		}
	case ansiString:
		switch c {
		case 0x07:
			t.st = ansiText
		case esc:
			t.st = ansiStringEscape
		}
	case ansiStringEscape:
		if c == '\\' {
			t.st = ansiText
		} else if c != esc {
			t.st = ansiString
		}
	default:
		if c == esc {
			t.st = ansiEscape
			return
		}
		t.text(c)
	}
}

// text appends a byte of text: "\r\n" and a lone "\r" become "\n", other
// control characters except tab are dropped.
func (t *outputTail) text(c byte) {
	if t.cr {
		t.cr = false
		if c == '\n' {
			return // the '\n' was already written for the '\r'
		}
	}
	switch {
	case c == '\r':
		t.cr = true
		t.buf = append(t.buf, '\n')
	case c == '\n' || c == '\t':
		t.buf = append(t.buf, c)
	case c < 0x20 || c == 0x7f:
	default:
		t.buf = append(t.buf, c)
	}
}

// String returns the kept output. When the front was dropped it starts at a
// line boundary (or, for a single huge line, at a character boundary).
func (t *outputTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	cut := t.cut
	if len(b) > OutputLimit {
		b, cut = b[len(b)-OutputLimit:], true
	}
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		} else {
			for len(b) > 0 && !utf8.RuneStart(b[0]) {
				b = b[1:]
			}
		}
	}
	return string(b)
}

// linePrefixer copies output to a writer with a prefix at the start of every
// line. It is used by one goroutine at a time; write errors are ignored, the
// copy being a courtesy to the developer's terminal.
type linePrefixer struct {
	w      io.Writer
	prefix []byte
	mid    bool // the last byte written was not '\n'
	out    []byte
}

// Write copies p, prefixing each line.
func (lp *linePrefixer) Write(p []byte) (int, error) {
	lp.out = lp.out[:0]
	for rest := p; len(rest) > 0; {
		if !lp.mid {
			lp.out = append(lp.out, lp.prefix...)
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			lp.out = append(lp.out, rest...)
			lp.mid = true
			break
		}
		lp.out = append(lp.out, rest[:i+1]...)
		lp.mid = false
		rest = rest[i+1:]
	}
	_, _ = lp.w.Write(lp.out)
	return len(p), nil
}

// endLine ends an unterminated last line, so that the next run's output
// starts on a line of its own.
func (lp *linePrefixer) endLine() {
	if lp.mid {
		_, _ = lp.w.Write([]byte("\n"))
		lp.mid = false
	}
}
