package process

import (
	"debug/buildinfo"
	"errors"
	"path/filepath"
	"strings"
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
// part, so a binary renamed to "vsse" counts and any other program does not,
// with one exception made to be safe: a Go test binary of that package
// carries the same build information, and is recognised and excluded by
// the name `go test` gives it ("….test"). It is false for dead and zombie
// processes, and for processes whose executable this user cannot read
// (those of another user, unless run as an administrator).
func IsValksorSSE(pid int) bool {
	if pid <= 0 || !Alive(pid) {
		return false
	}
	exe, name, err := executable(pid)
	if err != nil {
		return false
	}
	return isServerBinary(exe, name)
}

// isServerBinary reports whether the Go program in file path, whose
// original file name is name, was built from serverPackage and is not a
// test binary.
func isServerBinary(path, name string) bool {
	base := strings.TrimSuffix(filepath.Base(name), ".exe")
	if strings.HasSuffix(base, ".test") {
		return false
	}
	bi, err := buildinfo.ReadFile(path)
	return err == nil && bi.Path == serverPackage
}
