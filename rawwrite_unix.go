//go:build unix && !valksor_portable

package sse

import "syscall"

// rawWrites reports whether write sends bytes itself. It does here.
const rawWrites = true

// write writes as much of f.b as the socket takes without waiting: the
// socket is in non-blocking mode, so a full send buffer ends the call with
// EAGAIN and the rest is left to flush. It is the callback of
// syscall.RawConn.Write.
func (f *flusher) write(fd uintptr) bool {
	for f.written < len(f.b) {
		n, err := syscall.Write(int(fd), f.b[f.written:])
		if n > 0 {
			f.written += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			f.err = err
			return true
		case n == 0:
			return true
		}
	}
	return true
}
