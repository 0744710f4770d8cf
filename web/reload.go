package web

import sse "github.com/valksor/go-sse"

// RefreshHeader is the request header ("X-Valksor-Refresh: 1") on the GET
// with which the client fetches its page again to morph it after a reload
// event. A backend or proxy may use it to tell that fetch from a visit (to
// skip counting a page view, say); it must answer with the page as a
// browser would get it.
const RefreshHeader = "X-Valksor-Refresh"

// ReloadOptions are the optional fields of a reload event that the client
// reads besides its files.
type ReloadOptions struct {
	// NoProbe tells the client that the page's server is known to answer
	// right now ("probe": false): it fetches or reloads the page without
	// first waiting for it to answer something other than 502, 503 or 504.
	NoProbe bool
	// NoMorph makes the client reload the page even for a change it could
	// morph in place ("morph": false).
	NoMorph bool
	// AppDownOnly limits the reload to pages showing the dev proxy's
	// "app is not answering" page ("appDown": true): the reload the proxy
	// sends when the app is back. A page that already shows the app
	// ignores it, so a tab that reloaded into the app on its own does not
	// reload a second time.
	AppDownOnly bool
}

// ReloadEvent returns a reload event for files: its data is {"files":
// files} (an empty list for none) with "probe": false, "morph": false and
// "appDown": true added as o asks. Without options it is the same event as sse.Reload.
func ReloadEvent(files []string, o ReloadOptions) sse.Event {
	if files == nil {
		files = []string{}
	}
	data := map[string]any{"files": files}
	if o.NoProbe {
		data["probe"] = false
	}
	if o.NoMorph {
		data["morph"] = false
	}
	if o.AppDownOnly {
		data["appDown"] = true
	}
	return sse.Event{Type: sse.TypeReload, Data: data}
}
