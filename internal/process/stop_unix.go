//go:build !windows

package process

import "os"

// NotifyStop arranges for stop requests from other processes to be
// delivered on c as syscall.SIGTERM, like signal.Notify, until the returned
// function is called. On Unix a stop request is SIGTERM itself, which
// signal.Notify already delivers, so NotifyStop does nothing here. On
// Windows, where no signal can be sent to another process, Terminate asks
// through a named event that NotifyStop waits on. As with signal.Notify,
// sends do not block: a request that finds c full is dropped.
func NotifyStop(c chan<- os.Signal) (stop func(), err error) {
	return func() {}, nil
}
