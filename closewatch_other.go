//go:build !linux

package sse

import "syscall"

// closeWatcher is the portable stand-in: it watches nothing, and hijacked
// streams notice a hung-up client through a reading goroutine.
type closeWatcher struct{}

func newCloseWatcher() (*closeWatcher, error)                 { return &closeWatcher{}, nil }
func (w *closeWatcher) add(*subscriber, syscall.RawConn) bool { return false }
func (w *closeWatcher) remove(*subscriber)                    {}
func (w *closeWatcher) run(func(*subscriber))                 {}
func (w *closeWatcher) stop()                                 {}
