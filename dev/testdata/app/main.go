// Command app is the development app the Runner tests start: an HTTP
// server on APP_ADDR that can spawn a child, ignore SIGTERM, wait before
// listening, and exit on request.
//
// Environment:
//
//	APP_ADDR         address to listen on (required)
//	APP_PIDS         file to write "<own pid> <child pid>" to
//	APP_CHILD        "1": start "sleep 60" in the same process group
//	APP_IGNORE_TERM  "1": ignore SIGTERM
//	APP_DELAY        a time.Duration to wait before listening
//
// GET /exit?code=N answers, then exits with status N.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	fmt.Println("\x1b[1;32mapp\x1b[0m: starting")
	if os.Getenv("APP_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	child := 0
	if os.Getenv("APP_CHILD") == "1" {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "app: start child:", err)
			os.Exit(1)
		}
		child = c.Process.Pid
	}
	if f := os.Getenv("APP_PIDS"); f != "" {
		if err := os.WriteFile(f, []byte(fmt.Sprintf("%d %d\n", os.Getpid(), child)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "app:", err)
			os.Exit(1)
		}
	}
	if d, err := time.ParseDuration(os.Getenv("APP_DELAY")); err == nil {
		time.Sleep(d)
	}
	ln, err := net.Listen("tcp", os.Getenv("APP_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "app: listening on %s\n", ln.Addr())
	http.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Fprintf(os.Stderr, "app: exiting with status %d on request\n", code)
		w.WriteHeader(http.StatusNoContent)
		go func() {
			time.Sleep(50 * time.Millisecond) // let the answer go out
			os.Exit(code)
		}()
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app pid %d\n", os.Getpid())
	})
	_ = http.Serve(ln, nil)
}
