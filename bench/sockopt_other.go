//go:build !unix && !windows

package bench

// setReceiveBuffer does nothing where socket options cannot be set.
func setReceiveBuffer(uintptr, int) {}
