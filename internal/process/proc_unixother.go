//go:build unix && !linux && !darwin

package process

import "fmt"

// startTime is unknown on this system: pid reuse cannot be detected, and
// zombies count as alive.
func startTime(pid int) (uint64, error) {
	return 0, fmt.Errorf("start time of pid %d: %w", pid, errUnsupported)
}

// Cmdline is not available on this system.
func Cmdline(pid int) ([]string, error) {
	return nil, fmt.Errorf("cmdline of pid %d: %w", pid, errUnsupported)
}

// Cwd is not available on this system.
func Cwd(pid int) (string, error) {
	return "", fmt.Errorf("cwd of pid %d: %w", pid, errUnsupported)
}

// executable is not available on this system, so IsValksorSSE is false.
func executable(pid int) (path, name string, err error) {
	return "", "", fmt.Errorf("executable of pid %d: %w", pid, errUnsupported)
}
