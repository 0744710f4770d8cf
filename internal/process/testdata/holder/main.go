// Command holder is a test helper for package process: it listens on a TCP
// address, prints the chosen port on its first stdout line and then blocks
// until it is signalled or its lifetime runs out.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM so only SIGKILL stops the program")
	lifetime := flag.Duration("lifetime", 2*time.Minute, "exit on its own after this long (a safety net for leaked helpers)")
	flag.Parse() // positional arguments are accepted and ignored; they only decorate the command line

	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		os.Exit(2)
	}
	time.AfterFunc(*lifetime, func() { os.Exit(3) })
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(4)
		}
		_ = c.Close()
	}
}
