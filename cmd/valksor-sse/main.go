// Command valksor-sse runs a Server-Sent Events hub and talks to a running
// one.
//
//	valksor-sse [serve]      run the server (--watch DIR reloads browsers on change)
//	valksor-sse dev --proxy  live reload in front of any app
//	valksor-sse publish      publish an event to a running server
//	valksor-sse tail         follow the stream in a terminal
//	valksor-sse status       tell whether the server runs; stop stops it
//	valksor-sse assets       list or compile the digested assets and import map
//	valksor-sse token        mint a JWT with the configured keys
//	valksor-sse config keys  list every configuration key
//	valksor-sse bench        measure a server
//	valksor-sse completion   print a shell's completion script
//
// "valksor-sse help COMMAND" prints a command's flags; docs/cli.md in the
// repository holds them all, and docs/config.md every configuration key.
//
// This package is the command line and nothing else: it parses flags,
// loads the configuration (internal/config, the only reader of YAML and
// VALKSOR_SSE_* variables), maps it onto server.Options (options.go), and
// runs the process's life (pid file, --kill-existing, signals) in
// lifecycle.go. The server itself is package server; one file per
// subcommand holds the rest. main only builds a [Main] and runs it, which
// tests can do in-process too; most of them run the built binary instead.
package main

import (
	"context"
	"os"
)

func main() {
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}
	os.Exit(m.Run(context.Background(), os.Args[1:]))
}
