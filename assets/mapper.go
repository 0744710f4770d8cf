package assets

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPrefix is the URL path prefix used when [Options].Prefix is empty.
const DefaultPrefix = "/assets/"

// reloadInterval is the minimum time between two change checks under
// AutoReload.
const reloadInterval = 50 * time.Millisecond

// retainedGenerations is how many previous generations keep their public
// paths servable after a reload.
const retainedGenerations = 4

// Source is one file system contributing files to a [Mapper]. Namespace is
// prepended to the path of every file of FS to form its logical path; ""
// is the root namespace. A namespace is one or more slash-separated segments
// of ASCII letters, digits, '-', '_' and '.', none of them starting with a
// dot. FS may be an [os.DirFS], an [embed.FS], an [fstest.MapFS] or any other
// [fs.FS]; symbolic links to directories are not followed (use
// [os.Root.FS] to keep symbolic links to files from leaving the directory).
type Source struct {
	// Namespace prefixes the logical paths of the files of FS; "" is the
	// root namespace.
	Namespace string
	// FS holds the files; it must not be nil.
	FS fs.FS
}

// Options configures a [Mapper] built with [NewWithOptions].
type Options struct {
	// Prefix is the URL path under which assets are public. It must start
	// and end with "/"; "" means DefaultPrefix ("/assets/").
	Prefix string

	// AutoReload makes every lookup rescan the sources when a file changed
	// (checked by size and modification time, at most once per 50ms). It is
	// meant for development; in production call Reload explicitly, if ever.
	AutoReload bool
}

// Asset describes one mapped file as currently served.
type Asset struct {
	// LogicalPath is the path of the file in the mapper's namespace, such
	// as "valksorsse/sse.js".
	LogicalPath string
	// PublicPath is the URL path the file is served under, such as
	// "/assets/valksorsse/sse-3f2a1b9c.js".
	PublicPath string
	// Digest is the 8 lowercase hex digits of the SHA-256 of the served
	// content that appear in PublicPath.
	Digest string
	// Integrity is the Subresource Integrity metadata of the served
	// content, "sha384-" followed by the standard base64 of its SHA-384.
	Integrity string
	// ContentType is the value of the Content-Type header it is served
	// with.
	ContentType string
	// Size is the length in bytes of the served content.
	Size int64

	content []byte
}

// Content returns a copy of the bytes served for a (after rewriting); the
// caller may modify it. It is nil for an Asset that was not obtained from a
// Mapper. Safe for concurrent use.
func (a Asset) Content() []byte {
	if a.content == nil {
		return nil
	}
	return append([]byte(nil), a.content...)
}

// dep is an edge of the reference graph.
type dep struct {
	target string
	kind   refKind
}

// generation is one immutable, complete scan of all sources.
type generation struct {
	number    uint64
	byLogical map[string]*Asset
	byPublic  map[string]*Asset
	sorted    []*Asset
	deps      map[string][]dep
	warnings  []string
	// retired maps public paths of previous generations (that are not
	// current) to their asset and the generation that last served them.
	retired map[string]retiredAsset
}

type retiredAsset struct {
	asset *Asset
	gen   uint64
}

// Mapper maps, rewrites, digests and serves the files of its sources. It is
// built with [New] or [NewWithOptions] and is safe for concurrent use by
// multiple goroutines: every method sees one complete scan of the sources,
// and [Mapper.Reload] replaces that scan atomically.
type Mapper struct {
	sources    []Source
	prefix     string
	autoReload bool

	gen atomic.Pointer[generation]

	reloadMu  sync.Mutex // serialises scans
	checkMu   sync.Mutex // held by the goroutine checking for changes
	lastCheck atomic.Int64
	lastFP    [32]byte // fingerprint of the last scan attempt; guarded by reloadMu
	reloadErr atomic.Pointer[string]
}

// New returns a Mapper over sources with default [Options]. See
// [NewWithOptions].
func New(sources ...Source) (*Mapper, error) {
	return NewWithOptions(Options{}, sources...)
}

// NewWithOptions returns a Mapper over sources, scanning them immediately.
// Sources are listed in priority order: for a logical path provided by
// several sources, the first one wins. It fails (with an error starting with
// "assets:") when no source is given, a source has a nil FS or an invalid
// namespace, the prefix is invalid, a source cannot be read, or the
// references between files form a cycle. Cycles are rejected for JavaScript
// too, although ES modules allow them: a file's digest covers the digested
// names of the files it references, so content digests cannot be computed
// for a file that depends on itself; the error names the cycle
// ("assets: import cycle a.js -> b.js -> a.js: content digests cannot be
// computed; …"). References to missing files are not errors (see
// [Mapper.Warnings]).
func NewWithOptions(o Options, sources ...Source) (*Mapper, error) {
	if len(sources) == 0 {
		return nil, errors.New("assets: no sources")
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") || path.Clean(prefix)+"/" != prefix && prefix != "/" ||
		strings.ContainsAny(prefix, "?#%\\\"'<> \t\r\n") {
		return nil, fmt.Errorf("assets: invalid prefix %q: must be a clean URL path starting and ending with \"/\"", o.Prefix)
	}
	for i, s := range sources {
		if s.FS == nil {
			return nil, fmt.Errorf("assets: source %d (namespace %q) has a nil FS", i, s.Namespace)
		}
		if !validNamespace(s.Namespace) {
			return nil, fmt.Errorf("assets: source %d has invalid namespace %q: want slash-separated segments of letters, digits, '-', '_' and '.', not starting with '.'", i, s.Namespace)
		}
	}
	m := &Mapper{
		sources:    append([]Source(nil), sources...),
		prefix:     prefix,
		autoReload: o.AutoReload,
	}
	if err := m.Reload(); err != nil {
		return nil, err
	}
	return m, nil
}

func validNamespace(ns string) bool {
	if ns == "" {
		return true
	}
	for _, seg := range strings.Split(ns, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
	}
	return true
}

// Prefix returns the URL path prefix the mapper serves under, such as
// "/assets/". It never changes and is safe for concurrent use.
func (m *Mapper) Prefix() string { return m.prefix }

// Reload rescans all sources and atomically replaces the current map:
// concurrent readers see either the previous or the new map, never a mix.
// On error (unreadable source, reference cycle, as for [NewWithOptions])
// the previous map stays in place and the error is returned. The public paths of the previous
// generations stay servable. It is safe to call concurrently; scans are
// serialised.
func (m *Mapper) Reload() error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	files, fp, err := m.walk(true)
	if err != nil {
		return err
	}
	m.lastFP = fp
	err = m.build(files)
	if err != nil {
		s := err.Error()
		m.reloadErr.Store(&s)
	} else {
		m.reloadErr.Store(nil)
	}
	return err
}

// current returns the current generation, rescanning first when AutoReload
// is on and a file changed.
func (m *Mapper) current() *generation {
	if m.autoReload {
		m.maybeReload()
	}
	return m.gen.Load()
}

func (m *Mapper) maybeReload() {
	now := time.Now().UnixNano()
	if now-m.lastCheck.Load() < int64(reloadInterval) {
		return
	}
	if !m.checkMu.TryLock() {
		return // another goroutine is checking; use the current map
	}
	defer m.checkMu.Unlock()
	if now-m.lastCheck.Load() < int64(reloadInterval) {
		return
	}
	defer func() { m.lastCheck.Store(time.Now().UnixNano()) }()
	_, fp, err := m.walk(false)
	m.reloadMu.Lock()
	same := err == nil && fp == m.lastFP
	m.reloadMu.Unlock()
	if same {
		return
	}
	_ = m.Reload() // a failure is kept in reloadErr and shown by Warnings
}

// walkedFile is a file found while walking the sources.
type walkedFile struct {
	logical   string
	namespace string
	source    int
	name      string // path inside the source FS
	data      []byte
}

// walk lists the files of all sources (first source wins) and fingerprints
// their names, sizes and modification times. With read set it also reads
// their content.
func (m *Mapper) walk(read bool) (map[string]*walkedFile, [32]byte, error) {
	files := make(map[string]*walkedFile)
	h := sha256.New()
	var buf [8]byte
	for si, s := range m.sources {
		err := fs.WalkDir(s.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == "." {
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if strings.HasPrefix(name, ".") || name == "node_modules" {
					return fs.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(name, ".") {
				return nil
			}
			info, err := fs.Stat(s.FS, p) // follows a symbolic link to a file
			if err != nil || !info.Mode().IsRegular() {
				return nil // dangling link, link to a directory, device, ...
			}
			logical := p
			if s.Namespace != "" {
				logical = s.Namespace + "/" + p
			}
			h.Write([]byte(logical))
			h.Write([]byte{0, byte(si)})
			binary.LittleEndian.PutUint64(buf[:], uint64(info.Size()))
			h.Write(buf[:])
			binary.LittleEndian.PutUint64(buf[:], uint64(info.ModTime().UnixNano()))
			h.Write(buf[:])
			if _, dup := files[logical]; dup {
				return nil
			}
			files[logical] = &walkedFile{logical: logical, namespace: s.Namespace, source: si, name: p}
			return nil
		})
		if err != nil {
			return nil, [32]byte{}, fmt.Errorf("assets: reading source %d (namespace %q): %w", si, s.Namespace, err)
		}
	}
	var fp [32]byte
	h.Sum(fp[:0])
	if read {
		for _, f := range files {
			data, err := fs.ReadFile(m.sources[f.source].FS, f.name)
			if err != nil {
				return nil, fp, fmt.Errorf("assets: reading %s: %w", f.logical, err)
			}
			f.data = data
		}
	}
	return files, fp, nil
}

func (m *Mapper) newAsset(logical string, content []byte) *Asset {
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:4])
	sri := sha512.Sum384(content)
	a := &Asset{
		LogicalPath: logical,
		Digest:      digest,
		Integrity:   "sha384-" + base64.StdEncoding.EncodeToString(sri[:]),
		ContentType: contentType(logical, content),
		Size:        int64(len(content)),
		content:     content,
	}
	a.PublicPath = m.prefix + a.digestedLogical()
	return a
}

// digestedLogical is the logical path with the digest inserted before the
// last extension.
func (a *Asset) digestedLogical() string {
	dir, base := path.Split(a.LogicalPath)
	ext := path.Ext(base)
	if ext == base {
		ext = ""
	}
	return dir + strings.TrimSuffix(base, ext) + "-" + a.Digest + ext
}

// isRelativeJS reports whether a module specifier is relative (as opposed
// to bare, root-relative or an absolute URL).
func isRelativeJS(spec string) bool {
	return strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../")
}

// isRelativeCSS reports whether a CSS URL is a relative path: not empty, not
// root-relative or protocol-relative, not a fragment, and without a scheme
// (http:, data:, ...).
func isRelativeCSS(spec string) bool {
	s := strings.TrimSpace(spec)
	if s == "" || s[0] == '/' || s[0] == '#' || s[0] == '?' || strings.ContainsAny(s, "{}$\\") {
		return false
	}
	if i := strings.IndexByte(s, ':'); i > 0 {
		scheme := true
		for j := 0; j < i; j++ {
			c := s[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.')) {
				scheme = false
				break
			}
		}
		if scheme {
			return false
		}
	}
	return true
}

// resolveRef resolves a relative reference of the file with logical path
// from (in namespace ns) to a logical path, splitting off any query or
// fragment. escapes is set when the path leaves the namespace.
func resolveRef(from, ns, spec string) (target, suffix string, escapes bool) {
	p := strings.TrimSpace(spec)
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p, suffix = p[:i], p[i:]
	}
	target = path.Join(path.Dir(from), p)
	if ns == "" {
		escapes = target == ".." || strings.HasPrefix(target, "../")
	} else {
		escapes = !strings.HasPrefix(target, ns+"/")
	}
	return target, suffix, escapes
}

// relativeURL returns the URL of the logical path to relative to the
// directory fromDir ("." for the root), always starting with "./" or "../"
// so that JavaScript does not take it for a bare specifier.
func relativeURL(fromDir, to string) string {
	var from []string
	if fromDir != "." && fromDir != "" {
		from = strings.Split(fromDir, "/")
	}
	parts := strings.Split(to, "/")
	dirs := parts[:len(parts)-1]
	common := 0
	for common < len(from) && common < len(dirs) && from[common] == dirs[common] {
		common++
	}
	var b strings.Builder
	if ups := len(from) - common; ups == 0 {
		b.WriteString("./")
	} else {
		b.WriteString(strings.Repeat("../", ups))
	}
	b.WriteString(strings.Join(parts[common:], "/"))
	return b.String()
}

// safeReplacement returns the text to put in place of r's specifier, or
// false when s cannot be written there without escaping.
func safeReplacement(r ref, s string) (string, bool) {
	if strings.ContainsAny(s, "\\\n\r") {
		return "", false
	}
	switch r.quote {
	case 0:
		if strings.ContainsAny(s, "\"'() \t\f") {
			if strings.Contains(s, `"`) {
				return "", false
			}
			return `"` + s + `"`, true // an unquoted URL cannot hold these
		}
		return s, true
	case '`':
		if strings.Contains(s, "`") || strings.Contains(s, "${") {
			return "", false
		}
	}
	if strings.IndexByte(s, r.quote) >= 0 {
		return "", false
	}
	return s, true
}
