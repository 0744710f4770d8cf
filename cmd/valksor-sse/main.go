// Command valksor-sse runs a Server-Sent Events hub and talks to a running
// one. Run `valksor-sse help` for the subcommands.
package main

import (
	"context"
	"os"
)

func main() {
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}
	os.Exit(m.Run(context.Background(), os.Args[1:]))
}
