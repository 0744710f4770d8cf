package dev

import (
	_ "embed"
	"encoding/json"
	"html"

	sse "github.com/valksor/go-sse"
)

// OverlayScript is the source of the browser overlay (the file overlay.js):
// an ES module that waits for window.sseClient, listens for StateEventType
// events, shows a full-page dialog (role="alertdialog", with a close button;
// Esc closes it too) with the error and output of a failed run, and
// removes it when a later event has phase "ready". It also handles the
// client's sse:page-error (the page fetched for a morph answered 500): it
// cancels the reload and shows the answer's text instead, until the next
// sse:morph. It contains no
// "</script" and can be inlined as is; [OverlayTag] does that. It must not
// be modified.
//
//go:embed overlay.js
var OverlayScript string

// StateEventType is the SSE event type of [StateEvent].
const StateEventType = "dev-state"

// OverlayTag returns OverlayScript inlined in a <script type="module"> element,
// with nonce="…" when nonce is not empty. It is what [Proxy] injects after
// the client snippet by default.
func OverlayTag(nonce string) string {
	attr := ""
	if nonce != "" {
		attr = ` nonce="` + html.EscapeString(nonce) + `"`
	}
	return `<script type="module" data-valksor-sse-dev-overlay` + attr + ">\n" + OverlayScript + "</script>\n"
}

// stateJSON is the data of a dev-state event.
type stateJSON struct {
	Phase    Phase  `json:"phase"`
	Output   string `json:"output"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error"`
}

// StateEvent returns the dev-state event for s, published to the default
// topic: {"phase": "...", "output": "...", "exit_code": N, "error": "..."},
// error being "" when s.Err is nil. The overlay shows it when phase is
// "failed" and hides it when phase is "ready".
func StateEvent(s State) sse.Event {
	d := stateJSON{Phase: s.Phase, Output: s.Output, ExitCode: s.ExitCode}
	if s.Err != nil {
		d.Error = s.Err.Error()
	}
	b, err := json.Marshal(d)
	if err != nil { // cannot happen for strings and ints
		b = []byte(`{"phase":"` + string(PhaseFailed) + `"}`)
	}
	return sse.Event{Type: StateEventType, Data: json.RawMessage(b), Topics: []string{sse.DefaultTopic}}
}
