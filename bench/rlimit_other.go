//go:build !unix

package bench

// openFileLimit returns 0: the limit is unknown on this system.
func openFileLimit() uint64 { return 0 }
