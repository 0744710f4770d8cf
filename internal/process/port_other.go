//go:build !linux

package process

import "fmt"

// PortOwner is Linux only: elsewhere it returns the zero Owner and an error
// wrapping errors.ErrUnsupported, and callers rely on the pid file alone.
func PortOwner(host string, port int) (Owner, error) {
	return Owner{}, fmt.Errorf("port owner of %s:%d: %w", host, port, errUnsupported)
}
