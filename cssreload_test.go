package sse_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	sse "github.com/valksor/go-sse"
)

// TestCSSUpdateAsReload: a stream whose client does not say it handles
// css-update (the original Valksor client listens for reload and ping
// only) gets each css-update as a reload with the same id and data, live
// and in a replay; a client that says so with ?supports=css-update gets it
// as published. Other events reach both unchanged.
func TestCSSUpdateAsReload(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode)
		ctx := context.Background()
		before, err := hub.Publish(ctx, sse.Event{Type: "note", Data: `{"n":0}`})
		if err != nil {
			t.Fatal(err)
		}
		replayed, err := hub.Publish(ctx, sse.CSSUpdate("assets/old.css"))
		if err != nil {
			t.Fatal(err)
		}

		plain := open(t, srv, "/sse", nil)
		capable := open(t, srv, "/sse?supports=css-update", nil)
		resumedPlain := open(t, srv, "/sse?lastEventID="+url.QueryEscape(before), nil)
		resumedCapable := open(t, srv, "/sse?supports=note,css-update&lastEventID="+url.QueryEscape(before), nil)

		// The replay: the css-update published before the streams opened.
		for _, c := range []struct {
			name     string
			s        *stream
			wantType string
		}{{"resumed without support", resumedPlain, sse.TypeReload}, {"resumed with support", resumedCapable, sse.TypeCSSUpdate}} {
			e := c.s.next()
			if e.Type != c.wantType || e.ID != replayed || e.Data != `{"files":["assets/old.css"]}` {
				t.Errorf("%s: replayed %q id %q data %s, want %q id %q with the same files", c.name, e.Type, e.ID, e.Data, c.wantType, replayed)
			}
		}

		live, err := hub.Publish(ctx, sse.Event{Type: sse.TypeCSSUpdate, Data: map[string]any{"files": []string{"assets/app.css"}, "urls": map[string]string{}}})
		if err != nil {
			t.Fatal(err)
		}
		reload, err := hub.Publish(ctx, sse.Reload("templates/page.html"))
		if err != nil {
			t.Fatal(err)
		}
		note, err := hub.Publish(ctx, sse.Event{Type: "note", Data: `{"n":1}`})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name    string
			s       *stream
			cssType string
		}{
			{"without support", plain, sse.TypeReload},
			{"with support", capable, sse.TypeCSSUpdate},
			{"resumed without support", resumedPlain, sse.TypeReload},
			{"resumed with support", resumedCapable, sse.TypeCSSUpdate},
		} {
			want := []struct{ id, typ, data string }{
				{live, c.cssType, `{"files":["assets/app.css"],"urls":{}}`},
				{reload, sse.TypeReload, `{"files":["templates/page.html"]}`},
				{note, "note", `{"n":1}`},
			}
			for _, w := range want {
				if e := c.s.next(); e.ID != w.id || e.Type != w.typ || e.Data != w.data {
					t.Errorf("%s: got %q id %q data %s, want %q id %q data %s", c.name, e.Type, e.ID, e.Data, w.typ, w.id, w.data)
				}
			}
		}
	})
}

// TestCSSUpdateAsReloadNotForBareStreams: the css-update substitution is
// for the hub's own streams; a bare stream (Mercure's) carries every
// published event as it is, whatever its request says.
func TestCSSUpdateAsReloadNotForBareStreams(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, err := sse.New(mode, sse.WithPingInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
		mux := http.NewServeMux()
		mux.HandleFunc("/s", func(w http.ResponseWriter, r *http.Request) {
			hub.ServeStream(w, r, sse.StreamRequest{Topics: []string{sse.DefaultTopic}, LastEventID: r.URL.Query().Get("after"), Bare: true, CSSAsReload: true})
		})
		mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
			hub.ServeStream(w, r, sse.StreamRequest{Topics: []string{sse.DefaultTopic}, CSSAsReload: true})
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		ctx := context.Background()
		first, err := hub.Publish(ctx, sse.Event{Data: "first"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hub.Publish(ctx, sse.CSSUpdate("a.css")); err != nil {
			t.Fatal(err)
		}
		bare := rawStream(t, srv.URL+"/s?after="+url.QueryEscape(first))
		bare.waitFor("event: css-update") // the replay
		plain := open(t, srv, "/plain", nil)
		if _, err := hub.Publish(ctx, sse.CSSUpdate("b.css")); err != nil {
			t.Fatal(err)
		}
		bare.waitFor(`data: {"files":["b.css"]}`)
		for _, l := range bare.seen {
			if l == "event: reload" {
				t.Errorf("the bare stream got a reload: %q", bare.seen)
			}
		}
		// The same request without Bare gets the substitution.
		if e := plain.next(); e.Type != sse.TypeReload || e.Data != `{"files":["b.css"]}` {
			t.Errorf("a stream with CSSAsReload got %q %s, want a reload with the same files", e.Type, e.Data)
		}
	})
}
