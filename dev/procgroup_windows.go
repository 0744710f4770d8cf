package dev

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// group is the job object of a run: every process the command starts
// belongs to it, so the whole tree can be ended at once, and it is ended
// too when dev itself exits (the job is closed with the last handle to it).
// The command also gets a console process group of its own, so that
// Ctrl-Break can ask it to stop.
type group struct {
	job windows.Handle
	pid int
}

// newGroup creates the job object for cmd, which is not started yet, and
// gives cmd a new console process group.
func newGroup(cmd *exec.Cmd) (*group, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create a job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("set up a job object: %w", err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
	return &group{job: job}, nil
}

// started puts the started command p into the job. What p starts from
// then on belongs to the job too; a child started in the instant between
// CreateProcess and this call would escape it.
func (g *group) started(p *os.Process) error {
	g.pid = p.Pid
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err != nil {
		return fmt.Errorf("open the app's process: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(g.job, h); err != nil {
		return fmt.Errorf("put the app into a job object: %w", err)
	}
	return nil
}

// terminate sends Ctrl-Break to the command's console process group, the
// Windows way of asking a console program to stop. It reports false when
// that cannot be done (dev has no console to share), and the caller then
// kills the job at once.
func (g *group) terminate() bool {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(g.pid)) == nil
}

// kill ends every process in the job.
func (g *group) kill() {
	_ = windows.TerminateJobObject(g.job, 1)
}

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION.
type jobAccounting struct {
	TotalUserTime             int64
	TotalKernelTime           int64
	ThisPeriodTotalUserTime   int64
	ThisPeriodTotalKernelTime int64
	TotalPageFaultCount       uint32
	TotalProcesses            uint32
	ActiveProcesses           uint32
	TotalTerminatedProcesses  uint32
}

// alive reports whether a process of the job is still running.
func (g *group) alive() bool {
	var info jobAccounting
	err := windows.QueryInformationJobObject(g.job, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
	return err != nil || info.ActiveProcesses > 0
}

// close closes the job, which ends whatever is still in it.
func (g *group) close() { windows.CloseHandle(g.job) }
