//go:build !windows

package process

import "syscall"

// errAddrInUse is the error of a listen on an address that is taken.
var errAddrInUse error = syscall.EADDRINUSE
