// Package holdlib is the body of the test helpers of package process: it
// listens on a TCP address, optionally holds a pid file, prints the chosen
// port on its first stdout line and then blocks until it is signalled or
// its lifetime runs out. Two commands run it, so that the tests have two
// Go programs built from different packages.
package holdlib

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valksor/go-sse/internal/process"
)

// Main runs the helper.
func Main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	pidFile := flag.String("pidfile", "", "hold this pid file while running")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM so only SIGKILL stops the program")
	graceful := flag.Bool("graceful", false, "on a stop request (SIGTERM, or process.NotifyStop's), exit with status 0")
	lifetime := flag.Duration("lifetime", 2*time.Minute, "exit on its own after this long (a safety net for leaked helpers)")
	flag.Parse() // positional arguments are accepted and ignored; they only decorate the command line

	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *graceful {
		stops := make(chan os.Signal, 1)
		signal.Notify(stops, syscall.SIGTERM)
		if _, err := process.NotifyStop(stops); err != nil {
			fmt.Fprintln(os.Stderr, "holder:", err)
			os.Exit(6)
		}
		go func() {
			<-stops
			os.Exit(0)
		}()
	}
	if *pidFile != "" {
		if _, err := (process.PIDFile{Path: *pidFile}).Acquire(); err != nil {
			fmt.Fprintln(os.Stderr, "holder:", err)
			os.Exit(5)
		}
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
