//go:build unix

package dev

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// newProcessGroup makes the command the leader of a new process group, so
// that everything it starts can be signalled at once.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// The group functions below are also used after the leader p has been
// reaped, for what it left behind: the kernel does not reuse a process
// group id while the group has members, and when it has none the calls
// fail harmlessly with ESRCH (barring a new group leader being given the
// same id in between, which needs the pid space to wrap around).

// terminateGroup sends SIGTERM to the process group led by p.
func terminateGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGTERM)
}

// killGroup sends SIGKILL to the process group led by p.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// groupAlive reports whether the process group led by p has a member that
// has not exited (zombies, which hold no resources, do not count where
// that can be told).
func groupAlive(p *os.Process) bool {
	if err := syscall.Kill(-p.Pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return hasLiveMember(p.Pid)
}
