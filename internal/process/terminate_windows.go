package process

import (
	"errors"

	"golang.org/x/sys/windows"
)

// The names Terminate's errors use for its two steps.
const (
	stopName = "the stop request"
	killName = "TerminateProcess"
)

// winTarget is a process pinned by an open handle: Windows does not reuse
// a pid while a handle to its process is open.
type winTarget struct {
	h   windows.Handle
	pid int
}

// openTarget pins process pid, or returns nil when it is not running.
func openTarget(pid int) (target, error) {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) { // no such process
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t := &winTarget{h: h, pid: pid}
	if t.gone() {
		t.release()
		return nil, nil
	}
	return t, nil
}

func (t *winTarget) gone() bool {
	ev, err := windows.WaitForSingleObject(t.h, 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}

// stop sets the stop event of a valksor-sse (see NotifyStop). A process
// without one cannot be asked, and stop reports false.
func (t *winTarget) stop() (bool, error) {
	name, err := windows.UTF16PtrFromString(stopEventName(t.pid))
	if err != nil {
		return false, err
	}
	ev, err := windows.OpenEvent(windows.EVENT_MODIFY_STATE, false, name)
	if err != nil {
		return false, nil
	}
	defer windows.CloseHandle(ev)
	return true, windows.SetEvent(ev)
}

func (t *winTarget) kill() error { return windows.TerminateProcess(t.h, 1) }

func (t *winTarget) release() { windows.CloseHandle(t.h) }
