package sse_test

import (
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
)

// TestPublishAcceptsTimestamp posts the event shape of the PHP component's
// publisher, {"type", "data", "timestamp"}: the timestamp (a number or a
// numeric string) is accepted and dropped; other unknown fields are still
// refused.
func TestPublishAcceptsTimestamp(t *testing.T) {
	_, srv := newHub(t)
	s := open(t, srv, "/sse", nil)
	for _, body := range []string{
		`{"type":"custom-notification","data":{"message":"hi"},"timestamp":1732700000}`,
		`{"type":"custom-notification","data":{"message":"hi"},"timestamp":1732700000.25}`,
		`{"type":"custom-notification","data":{"message":"hi"},"timestamp":"1732700000"}`,
		`{"type":"custom-notification","data":{"message":"hi"},"timestamp":null}`,
	} {
		status, _, res := post(t, srv, "/sse/publish", "application/json", body, bearer)
		if status != 200 {
			t.Fatalf("%s: %d %s", body, status, res)
		}
		if e := s.next(); e.Type != "custom-notification" || e.Data != `{"message":"hi"}` {
			t.Fatalf("%s arrived as %+v", body, e)
		}
	}
	status, _, res := post(t, srv, "/sse/publish", "application/x-www-form-urlencoded", "type=note&data=x&timestamp=1732700000", bearer)
	if status != 200 {
		t.Fatalf("form with timestamp: %d %s", status, res)
	}
	if e := s.next(); e.Type != "note" || e.Data != "x" {
		t.Fatalf("form event arrived as %+v", e)
	}

	for _, c := range []struct {
		name, ct, body string
		says           []string
	}{
		{"unknown field", "application/json", `{"type":"x","timestamp":1,"tpye":"y"}`, []string{`unknown field "tpye"`, "timestamp"}},
		{"timestamp not a number", "application/json", `{"type":"x","timestamp":"soon"}`, []string{"timestamp must be a number"}},
		{"timestamp NaN", "application/json", `{"type":"x","timestamp":"NaN"}`, []string{"timestamp must be a number"}},
		{"timestamp object", "application/json", `{"type":"x","timestamp":{}}`, []string{"timestamp must be a number"}},
		{"form timestamp not a number", "application/x-www-form-urlencoded", "type=x&timestamp=soon", []string{"timestamp", "must be a number"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := post(t, srv, "/sse/publish", c.ct, c.body, bearer)
			if status != 400 {
				t.Fatalf("got %d %q, want 400", status, body)
			}
			for _, w := range c.says {
				if !strings.Contains(body, w) {
					t.Errorf("body %q does not mention %q", body, w)
				}
			}
		})
	}
}

// TestPublishReloadWithoutData checks that reload and css-update published
// over HTTP without data carry {"files":[]}, as the CLI, SIGHUP and the
// signal file send them, while other types keep {} and given data is kept.
func TestPublishReloadWithoutData(t *testing.T) {
	_, srv := newHub(t)
	s := open(t, srv, "/sse?supports=css-update", nil)
	for _, c := range []struct{ ct, body, typ, data string }{
		{"application/json", `{"type":"reload"}`, sse.TypeReload, `{"files":[]}`},
		{"application/json", `{"type":"reload","data":null}`, sse.TypeReload, `{"files":[]}`},
		{"application/json", `{"type":"css-update","timestamp":1732700000}`, sse.TypeCSSUpdate, `{"files":[]}`},
		{"application/x-www-form-urlencoded", "type=reload", sse.TypeReload, `{"files":[]}`},
		{"application/json", `{"type":"reload","data":{"files":["a.twig"]}}`, sse.TypeReload, `{"files":["a.twig"]}`},
		{"application/json", `{"type":"other"}`, "other", `{}`},
	} {
		status, _, res := post(t, srv, "/sse/publish", c.ct, c.body, bearer)
		if status != 200 {
			t.Fatalf("%s: %d %s", c.body, status, res)
		}
		if e := s.next(); e.Type != c.typ || e.Data != c.data {
			t.Fatalf("%s arrived as %+v, want data %s", c.body, e, c.data)
		}
	}
}
