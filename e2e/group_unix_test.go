//go:build unix

package e2e_test

import "syscall"

// groupAttr makes a command the leader of a new process group, so that
// signalGroup reaches everything it starts.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to process group pgid.
func signalGroup(pgid int, sig syscall.Signal) { _ = syscall.Kill(-pgid, sig) }
