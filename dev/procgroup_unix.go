//go:build unix

package dev

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// group is the process group of a run: the command leads a new group, so
// that everything it starts can be signalled at once.
type group struct {
	pgid int
}

// newGroup makes cmd, which is not started yet, the leader of a new
// process group.
func newGroup(cmd *exec.Cmd) (*group, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &group{}, nil
}

// started records the started leader p.
func (g *group) started(p *os.Process) error {
	g.pgid = p.Pid
	return nil
}

// The methods below are also used after the leader has been reaped, for
// what it left behind: the kernel does not reuse a process group id while
// the group has members, and when it has none the calls fail harmlessly
// with ESRCH (barring a new group leader being given the same id in
// between, which needs the pid space to wrap around).

// terminate sends SIGTERM to the group. It reports true: the request is
// always delivered.
func (g *group) terminate() bool {
	_ = syscall.Kill(-g.pgid, syscall.SIGTERM)
	return true
}

// kill sends SIGKILL to the group.
func (g *group) kill() {
	_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
}

// alive reports whether the group has a member that has not exited
// (zombies, which hold no resources, do not count where that can be told).
func (g *group) alive() bool {
	if err := syscall.Kill(-g.pgid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return hasLiveMember(g.pgid)
}

// close releases the group's resources; a process group has none.
func (g *group) close() {}
