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
//	DEVAPP_TEMPLATE   file whose content is put into the page's <main>,
//	                  read at each request
//	DEVAPP_TEMPLATE_AT_START  "1": read DEVAPP_TEMPLATE once, at start,
//	                  as apps that parse or embed their templates do
package main

import (
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"
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
	tpl := os.Getenv("DEVAPP_TEMPLATE")
	var atStart []byte
	if tpl != "" && os.Getenv("DEVAPP_TEMPLATE_AT_START") == "1" {
		atStart, _ = os.ReadFile(tpl)
	}
	started := time.Now().UnixNano()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		main := atStart
		if tpl != "" && atStart == nil {
			main, _ = os.ReadFile(tpl)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>devapp %s</title></head>\n<body data-started=\"%d\"><h1 id=\"version\">devapp %s</h1><main>%s</main></body></html>\n", version, started, version, main)
	})
	fmt.Println("devapp", version, "listening on", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "devapp:", err)
		os.Exit(1)
	}
}
