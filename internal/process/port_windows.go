package process

import "golang.org/x/sys/windows"

// errAddrInUse is the error of a listen on an address that is taken.
var errAddrInUse error = windows.WSAEADDRINUSE
