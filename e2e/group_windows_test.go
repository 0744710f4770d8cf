package e2e_test

import (
	"os"
	"syscall"
)

// groupAttr starts commands as they are: these tests do not track process
// trees on Windows.
func groupAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills process pgid alone: Windows has no signals to send.
func signalGroup(pgid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pgid); err == nil {
		_ = p.Kill()
	}
}
