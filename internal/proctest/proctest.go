// Package proctest holds what the project's tests need to run real
// processes: a buffer their output can be written to while the test reads
// it, and an environment free of the caller's configuration.
package proctest

import (
	"bytes"
	"os"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for one writer (a process's output) and
// concurrent readers. Its zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Env returns this process's environment without VALKSOR_SSE_* variables,
// so that a server started by a test sees only the configuration the test
// gives it.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VALKSOR_SSE_") {
			env = append(env, kv)
		}
	}
	return env
}
