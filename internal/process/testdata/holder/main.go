// Command holder is the test helper that package process's tests treat as
// the valksor-sse server (see holdlib).
package main

import "github.com/valksor/go-sse/internal/process/testdata/holdlib"

func main() { holdlib.Main() }
