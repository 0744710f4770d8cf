//go:build unix

package bench

import "syscall"

// openFileLimit returns the soft limit on open files of this process, or 0
// when it is unknown.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}
