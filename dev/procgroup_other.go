//go:build !unix

package dev

import (
	"os"
	"os/exec"
)

// newProcessGroup does nothing on systems without Unix process groups.
func newProcessGroup(*exec.Cmd) {}

// terminateGroup kills p: there is neither SIGTERM nor a process group here.
func terminateGroup(p *os.Process) { _ = p.Kill() }

// killGroup kills p.
func killGroup(p *os.Process) { _ = p.Kill() }

// groupAlive reports false: only the process itself is tracked here, and
// it has been waited for.
func groupAlive(*os.Process) bool { return false }
