// Command devapp is the app that the dev-loop end-to-end test runs under
// "valksor-sse dev --cmd 'go run .'". The test copies this file into a
// temporary directory with a go.mod of its own (module devapp, no
// dependencies), then breaks and fixes the version line below.
//
// Environment:
//
//	DEVAPP_ADDR       address to listen on (required)
//	DEVAPP_PGID_FILE  file to append the process group id to, so that the
//	                  test can clean up if valksor-sse did not
package main

import (
	"fmt"
	"net/http"
	"os"
	"syscall"
)

const version = "v1"

func main() {
	addr := os.Getenv("DEVAPP_ADDR")
	if addr == "" {
		fmt.Fprintln(os.Stderr, "devapp: DEVAPP_ADDR is not set")
		os.Exit(2)
	}
	if name := os.Getenv("DEVAPP_PGID_FILE"); name != "" {
		if f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, syscall.Getpgrp())
			f.Close()
		}
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>devapp %s</title></head>\n<body><h1 id=\"version\">devapp %s</h1></body></html>\n", version, version)
	})
	fmt.Println("devapp", version, "listening on", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "devapp:", err)
		os.Exit(1)
	}
}
