// Package process holds the Linux process management used by the valksor-sse
// binary: the pid file, liveness and identity checks based on /proc, finding
// the owner of a listening TCP port and its working directory, and
// terminating a running server.
//
// Every function here treats a pid as a claim to verify, never as a fact: pids
// are reused by the kernel, so identity is checked through /proc before a pid
// is trusted or signalled.
package process
