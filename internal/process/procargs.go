package process

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// errMalformed is returned for a process record that cannot be parsed.
var errMalformed = errors.New("malformed")

// parseProcArgs parses macOS's kern.procargs2 record of a process: argc as
// a 32-bit integer in the machine's byte order, the executable's path, NUL
// padding, then argc NUL-terminated arguments (the environment follows and
// is ignored). It lives outside proc_darwin.go so that it is tested on every
// system.
func parseProcArgs(b []byte) (exe string, args []string, err error) {
	if len(b) < 4 {
		return "", nil, errMalformed
	}
	argc := int(binary.NativeEndian.Uint32(b))
	b = b[4:]
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, errMalformed
	}
	exe, b = string(b[:i]), bytes.TrimLeft(b[i:], "\x00")
	args = []string{}
	for len(args) < argc && len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			i = len(b)
		}
		args = append(args, string(b[:i]))
		b = b[min(i+1, len(b)):]
	}
	return exe, args, nil
}
