package bench

import "syscall"

// setReceiveBuffer asks Winsock for a receive buffer of n bytes on the
// socket fd. It is best effort: a refusal leaves the default in place.
func setReceiveBuffer(fd uintptr, n int) {
	_ = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
