package dev_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/dev"
)

func TestOverlayScript(t *testing.T) {
	src := strings.ToLower(dev.OverlayScript)
	for _, bad := range []string{"</script", "<!--"} {
		if strings.Contains(src, bad) {
			t.Errorf("OverlayScript contains %q and cannot be inlined", bad)
		}
	}
	for _, want := range []string{"'dev-state'", "sseclient", "'sse:open'", "'alertdialog'", "textcontent", "'failed'", "'ready'"} {
		if !strings.Contains(src, want) {
			t.Errorf("OverlayScript lacks %s", want)
		}
	}
	if got := dev.OverlayTag(""); !strings.HasPrefix(got, `<script type="module" data-valksor-sse-dev-overlay>`) || !strings.HasSuffix(got, "</script>\n") {
		t.Errorf("OverlayTag(\"\") = %.80q…", got)
	}
	if got := dev.OverlayTag(`n"<1>`); !strings.HasPrefix(got, `<script type="module" data-valksor-sse-dev-overlay nonce="n&#34;&lt;1&gt;">`) {
		t.Errorf("OverlayTag with a nonce = %.100q…", got)
	}
}

func TestStateEvent(t *testing.T) {
	e := dev.StateEvent(dev.State{Phase: dev.PhaseReady, Output: "listening\n", ExitCode: -1})
	var got map[string]any
	if err := json.Unmarshal(e.Data.(json.RawMessage), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"phase": "ready", "output": "listening\n", "exit_code": float64(-1), "error": ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("data %v, want %v", got, want)
	}
	// A hub accepts it.
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	if err := hub.Broadcast(context.Background(), e); err != nil {
		t.Errorf("Broadcast: %v", err)
	}
}

func ExampleStateEvent() {
	e := dev.StateEvent(dev.State{
		Phase:    dev.PhaseFailed,
		Output:   "./main.go:3:1: syntax error\n",
		ExitCode: 2,
		Err:      errors.New("app command exited with status 2 before answering on http://localhost:8000/"),
	})
	fmt.Println(e.Type, e.Topics)
	fmt.Println(string(e.Data.(json.RawMessage)))
	// Output:
	// dev-state [default]
	// {"phase":"failed","output":"./main.go:3:1: syntax error\n","exit_code":2,"error":"app command exited with status 2 before answering on http://localhost:8000/"}
}
