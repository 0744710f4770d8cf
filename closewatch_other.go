//go:build !linux || valksor_portable

package sse

import "syscall"

// closeWatcher is the portable stand-in: it watches nothing, and hijacked
// streams notice a hung-up client through a reading goroutine.
//
// The valksor_portable build tag selects this file on every system, so
// that `go test -tags valksor_portable .` runs the hub on the portable
// path where the platform's own cannot run (Linux for Windows and macOS).
type closeWatcher struct{}

func newCloseWatcher() (*closeWatcher, error)                 { return &closeWatcher{}, nil }
func (w *closeWatcher) add(*subscriber, syscall.RawConn) bool { return false }
func (w *closeWatcher) remove(*subscriber)                    {}
func (w *closeWatcher) run(func(*subscriber))                 {}
func (w *closeWatcher) stop()                                 {}
