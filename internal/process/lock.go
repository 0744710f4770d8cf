package process

import "errors"

// errNoLocks is returned by lockFile and probeLock on systems without file
// locks.
var errNoLocks = errors.New("file locks are not supported on this system")
