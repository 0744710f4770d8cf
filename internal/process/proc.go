package process

import (
	"debug/buildinfo"
	"errors"
)

// ServerPackage is the import path of the valksor-sse command. A process
// is a valksor-sse server when its program was built from this package,
// whatever the executable file is called.
const ServerPackage = "github.com/valksor/go-sse/cmd/valksor-sse"

// serverPackage is what IsValksorSSE looks for; tests point it at their
// helper program.
var serverPackage = ServerPackage

// errUnsupported is returned by the lookups this system cannot make.
var errUnsupported = errors.ErrUnsupported

// IsValksorSSE reports whether process pid is alive and runs the
// valksor-sse command: the Go build information embedded in its executable
// names ServerPackage as the main package. The executable's name plays no
// part, so a binary renamed to "vsse" counts, while a Go test binary of
// that package ("….test") and any other program do not. It is false for
// dead and zombie processes, and for processes whose executable this user
// cannot read (those of another user, unless run as an administrator).
func IsValksorSSE(pid int) bool {
	if pid <= 0 || !Alive(pid) {
		return false
	}
	exe, err := executable(pid)
	if err != nil {
		return false
	}
	return isServerBinary(exe)
}

// isServerBinary reports whether the Go program in file path was built
// from serverPackage.
func isServerBinary(path string) bool {
	bi, err := buildinfo.ReadFile(path)
	return err == nil && bi.Path == serverPackage
}
