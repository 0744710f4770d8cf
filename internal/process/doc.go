// Package process holds the process management of the valksor-sse binary:
// the pid file, held under an OS file lock for the server's lifetime;
// liveness and identity checks; terminating a running server; and, on Linux,
// finding the owner of a listening TCP port and its working directory.
//
// Nothing here trusts a name. A pid file counts as a running server only
// while a live process holds its lock, and a pid counts as a valksor-sse
// only when the program it runs was built from the valksor-sse command
// (its Go build information says so), whatever the executable is called.
// Pids are reused by the system, so a pid is treated as a claim to verify,
// never as a fact, before it is trusted or signalled.
//
// The platform parts live in files named for the platform: the lock in
// lock_unix.go and lock_windows.go, process inspection in proc_linux.go,
// proc_darwin.go and proc_windows.go, stopping in terminate_unix.go and
// terminate_windows.go (where a server is asked to stop through a named
// event, see NotifyStop), and the port owner lookup in port_linux.go.
package process
