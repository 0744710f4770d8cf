// Command stranger is the test helper that package process's tests treat
// as some other Go program (see holdlib).
package main

import "github.com/valksor/go-sse/internal/process/testdata/holdlib"

func main() { holdlib.Main() }
