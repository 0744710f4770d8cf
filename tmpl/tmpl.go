package tmpl

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valksor/go-sse/assets"
)

// ClientEntry is the import map name of the SSE client module.
const ClientEntry = "valksorsse/sse"

// Defaults for the zero values of [Options] fields.
const (
	// DefaultBasePath is the SSE endpoint path used when Options.BasePath
	// is empty.
	DefaultBasePath = "/sse"
	// DefaultPingTTL is how long a ping result is reused when
	// Options.PingTTL is zero.
	DefaultPingTTL = 5 * time.Second
	// DefaultPingTimeout bounds the ping request (and the wait of the
	// renders before the first result) when Options.HTTPClient is nil or
	// has no Timeout.
	DefaultPingTimeout = 300 * time.Millisecond
)

// Options configures a [Renderer].
type Options struct {
	// Enabled turns the integration on. When false every template function
	// renders "" and Inject passes responses through untouched; no other
	// field is needed or checked.
	Enabled bool

	// ServerURL is the absolute http(s) URL of the SSE server, such as
	// "http://localhost:8080", which also serves the assets of Mapper; ""
	// means the page's own origin. With "" the SSE server is taken to be
	// part of the process rendering the page: no ping is made and
	// valksor_sse_ping always renders (with an empty port).
	ServerURL string

	// BasePath is the URL path of the SSE endpoint on the server; "" means
	// DefaultBasePath ("/sse").
	BasePath string

	// Mapper maps the client's files (and possibly the application's).
	Mapper *assets.Mapper

	// ImportMap is rendered by valksor_sse_importmap_definition. It must
	// contain the entry ClientEntry ("valksorsse/sse"); other entries are
	// allowed and can be imported with valksor_sse_importmap_scripts.
	ImportMap assets.ImportMap

	// Nonce, when set, returns the CSP nonce for a request; Inject uses it
	// in preference to one found in the response's Content-Security-Policy.
	// Templates get their nonce as an argument instead.
	Nonce func(*http.Request) string

	// HTTPClient makes the ping request. Nil means a client with a 300ms
	// timeout; a client with a Timeout has the ping bounded by it instead.
	HTTPClient *http.Client

	// PingTTL is how long a ping result is reused; 0 means DefaultPingTTL.
	PingTTL time.Duration

	// OnError, when set, is told when Inject cannot render its snippet (an
	// import map entry vanished from the Mapper, say); the page is then
	// served untouched.
	OnError func(*http.Request, error)
}

// Nonce marks a string as a CSP nonce in template function arguments; see
// the package documentation for the calling convention.
type Nonce string

// Renderer renders the SSE integration HTML. It is created by [New] and is
// safe for concurrent use; the template functions and the middleware it
// returns share its ping cache.
type Renderer struct {
	o         Options
	serverURL string
	basePath  string
	port      string
	entries   map[string]bool
	ping      *pinger // nil when no check is needed
}

// New validates o and returns a Renderer. When o.Enabled is false it never
// fails. Otherwise it fails (with an error starting with "tmpl:") when Mapper
// is nil, ServerURL is not "" or an absolute http(s) URL, BasePath does not
// start with "/", PingTTL is negative, or ImportMap lacks ClientEntry or
// cannot be resolved by the Mapper.
func New(o Options) (*Renderer, error) {
	r := &Renderer{o: o}
	if !o.Enabled {
		return r, nil
	}
	if o.Mapper == nil {
		return nil, errors.New("tmpl: Options.Mapper is nil")
	}
	r.serverURL = strings.TrimSuffix(o.ServerURL, "/")
	if r.serverURL != "" {
		u, err := url.Parse(r.serverURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("tmpl: invalid ServerURL %q: want \"\" or an absolute http(s) URL such as \"http://localhost:8080\"", o.ServerURL)
		}
		r.port = u.Port()
		if r.port == "" {
			r.port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
	}
	r.basePath = o.BasePath
	if r.basePath == "" {
		r.basePath = DefaultBasePath
	}
	if !strings.HasPrefix(r.basePath, "/") || strings.ContainsAny(r.basePath, "?#") {
		return nil, fmt.Errorf("tmpl: invalid BasePath %q: want a URL path starting with \"/\"", o.BasePath)
	}
	if r.basePath != "/" {
		r.basePath = strings.TrimSuffix(r.basePath, "/")
	}
	if o.PingTTL < 0 {
		return nil, fmt.Errorf("tmpl: negative PingTTL %v", o.PingTTL)
	}
	r.entries = make(map[string]bool, len(o.ImportMap.Entries))
	for _, e := range o.ImportMap.Entries {
		r.entries[e.Name] = true
	}
	if !r.entries[ClientEntry] {
		return nil, fmt.Errorf("tmpl: Options.ImportMap has no %q entry", ClientEntry)
	}
	if _, err := o.Mapper.ImportMapJSON(o.ImportMap, r.serverURL); err != nil {
		return nil, fmt.Errorf("tmpl: %w", err)
	}
	if r.serverURL != "" {
		client, timeout := o.HTTPClient, DefaultPingTimeout
		if client == nil {
			client = &http.Client{Timeout: DefaultPingTimeout}
		} else if client.Timeout > 0 {
			timeout = client.Timeout
		}
		ttl := o.PingTTL
		if ttl == 0 {
			ttl = DefaultPingTTL
		}
		r.ping = &pinger{
			url:     r.serverURL + strings.TrimSuffix(r.basePath, "/") + "/healthz",
			client:  client,
			ttl:     ttl,
			timeout: timeout,
		}
	}
	return r, nil
}

// FuncMap returns the template functions of a [Renderer] for o; see [New]
// for the errors and the package documentation for the functions.
func FuncMap(o Options) (template.FuncMap, error) {
	r, err := New(o)
	if err != nil {
		return nil, err
	}
	return r.FuncMap(), nil
}

// FuncMap returns the template functions valksor_sse_importmap_definition,
// valksor_sse_importmap_scripts, valksor_sse_ping and valksor_sse_nonce.
// The first two return an error (which stops template execution) for
// arguments of the wrong type, unknown entry names or more than one nonce.
func (r *Renderer) FuncMap() template.FuncMap {
	return template.FuncMap{
		"valksor_sse_importmap_definition": r.definitionFunc,
		"valksor_sse_importmap_scripts":    r.scriptsFunc,
		"valksor_sse_ping":                 r.Ping,
		"valksor_sse_nonce":                func(s string) Nonce { return Nonce(s) },
	}
}

func (r *Renderer) definitionFunc(args ...any) (template.HTML, error) {
	if !r.o.Enabled {
		return "", nil
	}
	var nonce string
	switch {
	case len(args) > 1:
		return "", fmt.Errorf("tmpl: valksor_sse_importmap_definition: %d arguments, want at most a nonce", len(args))
	case len(args) == 1:
		switch v := args[0].(type) {
		case string:
			nonce = v
		case Nonce:
			nonce = string(v)
		default:
			return "", fmt.Errorf("tmpl: valksor_sse_importmap_definition: argument of type %T, want a nonce string", v)
		}
	}
	return r.Definition(nonce)
}

func (r *Renderer) scriptsFunc(args ...any) (template.HTML, error) {
	if !r.o.Enabled {
		return "", nil
	}
	var nonce string
	haveNonce := false
	var names []string
	for _, a := range args {
		switch v := a.(type) {
		case string:
			names = append(names, v)
		case []string:
			names = append(names, v...)
		case Nonce:
			if haveNonce {
				return "", errors.New("tmpl: valksor_sse_importmap_scripts: more than one nonce")
			}
			nonce, haveNonce = string(v), true
		default:
			return "", fmt.Errorf("tmpl: valksor_sse_importmap_scripts: argument of type %T, want entry names or a nonce (valksor_sse_nonce)", v)
		}
	}
	return r.Scripts(nonce, names...)
}

func nonceAttr(nonce string) string {
	if nonce == "" {
		return ""
	}
	return ` nonce="` + html.EscapeString(nonce) + `"`
}

// Definition renders the import map of the options (see
// [assets.Mapper.RenderImportMap]), with asset URLs based on ServerURL and
// nonce="…" on every element when nonce is not empty. It renders "" when
// disabled and returns the Mapper's error when an entry cannot be resolved.
func (r *Renderer) Definition(nonce string) (template.HTML, error) {
	if !r.o.Enabled {
		return "", nil
	}
	h, err := r.o.Mapper.RenderImportMap(r.o.ImportMap, r.serverURL, nonce)
	if err != nil {
		return "", fmt.Errorf("tmpl: valksor_sse_importmap_definition: %w", err)
	}
	return h, nil
}

// Scripts renders one <script type="module"> importing ClientEntry and then
// each of entries (duplicates dropped), with nonce="…" when nonce is not
// empty. It renders "" when disabled and fails for a name that is not an
// entry of the import map.
func (r *Renderer) Scripts(nonce string, entries ...string) (template.HTML, error) {
	if !r.o.Enabled {
		return "", nil
	}
	var b strings.Builder
	b.WriteString(`<script type="module"` + nonceAttr(nonce) + ">")
	seen := make(map[string]bool, len(entries)+1)
	for i, name := range append([]string{ClientEntry}, entries...) {
		if seen[name] {
			continue
		}
		seen[name] = true
		if !r.entries[name] {
			return "", fmt.Errorf("tmpl: valksor_sse_importmap_scripts: %q is not an entry of the import map", name)
		}
		q, err := json.Marshal(name) // a JS string literal; escapes <, > and &
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("import " + string(q) + ";")
	}
	b.WriteString("</script>")
	return template.HTML(b.String()), nil
}

// Ping renders the meta tags valksor-sse-port (the ServerURL's port, empty
// for the same origin) and valksor-sse-path (BasePath) when the SSE server
// is up, and "" when it is not or when disabled. See the package
// documentation for the caching and the bound on waiting.
func (r *Renderer) Ping() template.HTML {
	if !r.o.Enabled || (r.ping != nil && !r.ping.Up()) {
		return ""
	}
	return template.HTML(`<meta name="valksor-sse-port" content="` + html.EscapeString(r.port) + `">` + "\n" +
		`<meta name="valksor-sse-path" content="` + html.EscapeString(r.basePath) + `">`)
}

// Snippet renders what [Inject] inserts into a page: the ping meta tags (if
// the server is up), the import map definition and the client module
// script, one per line, each element carrying nonce when it is not empty.
// It renders "" when disabled.
func (r *Renderer) Snippet(nonce string) (template.HTML, error) {
	if !r.o.Enabled {
		return "", nil
	}
	def, err := r.Definition(nonce)
	if err != nil {
		return "", err
	}
	scripts, err := r.Scripts(nonce)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if p := r.Ping(); p != "" {
		b.WriteString(string(p) + "\n")
	}
	b.WriteString(string(def) + "\n" + string(scripts) + "\n")
	return template.HTML(b.String()), nil
}
