package dev

import (
	"context"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"syscall"
)

// downPage is the page served when the app does not answer. Its snippet
// connects the SSE client, whose reload (published when the app is back)
// brings the app's page in its place: a reload, never a morph
// (data-valksor-morph="false"), since the app's page is another page.
// data-valksor-app-down marks it as the page the reload for "the app is
// back" (web.ReloadOptions.AppDownOnly) is meant for.
var downPage = template.Must(template.New("down").Parse(`<!DOCTYPE html>
<html lang="en" data-valksor-morph="false" data-valksor-app-down>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The app is not answering · valksor-sse dev</title>
<style>
body { margin: 0; padding: 32px; font: 15px/1.5 system-ui, sans-serif; color: #18181b; background: #fafafa; }
main { max-width: 60rem; margin: 0 auto; }
h1 { font-size: 20px; margin: 0 0 16px; }
pre { font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; background: #18181b; color: #e4e4e7; padding: 12px; border-left: 4px solid #ef4444; }
.error { color: #b91c1c; }
</style>
{{.Snippet}}</head>
<body>
<main>
<h1>The app is not answering</h1>
<p id="valksor-sse-dev-message">{{.Message}}</p>
{{- if .Starting}}
<p>The app command is starting.</p>
{{- end}}
{{- if .Failed}}
<p class="error">{{.Failed}}</p>
<pre>{{.Output}}</pre>
{{- end}}
</main>
</body>
</html>
`))

// downData fills downPage.
type downData struct {
	Snippet  template.HTML
	Message  string
	Starting bool
	Failed   string // the failed run's error
	Output   string
}

// serveError answers a request the app did not answer. req is the outbound
// request (ReverseProxy passes that one).
func (p *Proxy) serveError(w http.ResponseWriter, req *http.Request, err error) {
	if req.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return // the browser went away; nobody to answer
	}
	var re *responseError
	var msg string
	if errors.As(err, &re) {
		msg = "valksor-sse dev: the app at " + p.origin + " sent a response the proxy could not read (" + re.Error() + "). It will reload here when the app is fixed."
		p.log.Warn("dev proxy: bad response from the app", "app", p.origin, "url", req.URL.String(), "err", err)
	} else {
		msg = "valksor-sse dev: the app at " + p.origin + " is not answering (" + reason(err) + "). It will reload here when it is back."
		if !p.down.Swap(true) {
			p.log.Warn("dev proxy: the app is not answering", "app", p.origin, "err", err)
		} else {
			p.log.Debug("dev proxy: the app is still not answering", "url", req.URL.String(), "err", err)
		}
	}
	d := downData{Message: msg}
	if s, serr := p.renderer.Snippet(""); serr == nil && s != "" {
		d.Snippet = s + template.HTML(p.extra(""))
	}
	if p.state != nil {
		switch s := p.state(); s.Phase {
		case PhaseStarting:
			d.Starting = true
		case PhaseFailed:
			d.Failed = "The app command failed."
			if s.Err != nil {
				d.Failed = s.Err.Error()
			}
			d.Output = s.Output
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusBadGateway)
	if req.Method == http.MethodHead {
		return
	}
	_ = downPage.Execute(w, d)
}

// reason says in a few words why the app did not answer.
func reason(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "it closed the connection without answering"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "host " + dns.Name + " not found"
	}
	return err.Error()
}
