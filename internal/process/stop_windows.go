package process

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/windows"
)

// NotifyStop arranges for stop requests from other processes to be
// delivered on c as syscall.SIGTERM, like signal.Notify, until the returned
// function is called. On Windows, where no signal can be sent to another
// process, it creates the named event that Terminate sets (see
// stopEventName) and waits on it; Ctrl-C, Ctrl-Break and closing the
// console arrive through signal.Notify as usual. Sends do not block: a
// request that finds c full is dropped. The returned function stops the
// waiting goroutine and waits for it; it may be called more than once. When
// the event cannot be created, NotifyStop returns the error and a function
// that does nothing: the server still stops on Ctrl-C, and Terminate falls
// back to ending the process.
func NotifyStop(c chan<- os.Signal) (stop func(), err error) {
	name, err := windows.UTF16PtrFromString(stopEventName(os.Getpid()))
	if err != nil {
		return func() {}, err
	}
	// Auto-reset: each request wakes the waiter once.
	ev, err := windows.CreateEvent(nil, 0, 0, name)
	if err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return func() {}, fmt.Errorf("create the stop event: %w", err)
	}
	quit, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		windows.CloseHandle(ev)
		return func() {}, fmt.Errorf("create the stop event: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			i, err := windows.WaitForMultipleObjects([]windows.Handle{ev, quit}, false, windows.INFINITE)
			if err != nil || i != windows.WAIT_OBJECT_0 {
				return
			}
			select {
			case c <- syscall.SIGTERM:
			default:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = windows.SetEvent(quit)
			<-done
			windows.CloseHandle(ev)
			windows.CloseHandle(quit)
		})
	}, nil
}
