//go:build !unix || valksor_portable

package sse

// rawWrites reports whether write sends bytes itself. It does not here.
const rawWrites = false

// write writes nothing. Where a socket cannot be written without the risk
// of waiting (on Windows the runtime's sockets are overlapped, so a raw
// write would block), every batch is left to flush, which hands it to a
// goroutine of its own that may wait. A slow client then never holds up a
// writer, at the cost of one goroutine per batch written. It is the
// callback of syscall.RawConn.Write.
//
// The valksor_portable build tag selects this file on every system, so
// that `go test -tags valksor_portable .` runs the hub on the portable
// path where the platform's own cannot run (Linux for Windows and macOS).
func (f *flusher) write(uintptr) bool { return true }
