package assets

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// unsafeNameChars are characters that cannot appear unescaped in the
// rewritten references and URLs; files with them in their logical path are
// skipped with a warning.
const unsafeNameChars = "\"'`\\?#%<>{}|^"

// build scans the walked files into a new generation and publishes it, in
// four steps: leave out the files whose names are not safe in URLs, find
// each file's references to the others, digest the files in dependency
// order (each after the files it references, whose digested names it then
// holds), and index the result, keeping the public paths of the previous
// generations servable.
func (m *Mapper) build(files map[string]*walkedFile) error {
	b := &builder{m: m, files: files, refsOf: make(map[string][]resolvedRef), deps: make(map[string][]dep)}
	names := b.safeNames()
	for _, l := range names {
		b.findRefs(l)
	}
	if err := b.digestAll(names); err != nil {
		return err
	}
	m.gen.Store(b.generation(names, m.gen.Load()))
	return nil
}

// builder holds the state of one build.
type builder struct {
	m     *Mapper
	files map[string]*walkedFile
	// refsOf lists, for each file, its references to other files of the
	// sources, in the order they appear, resolved to logical paths.
	refsOf map[string][]resolvedRef
	// deps lists, for each file, the files it references, once each per
	// kind of reference.
	deps   map[string][]dep
	assets map[string]*Asset
	// state is 1 while a file's dependencies are digested, 2 once it is
	// digested; stack is the path of files being digested.
	state    map[string]uint8
	stack    []string
	warnings []string
}

// resolvedRef is a reference and the logical path it resolves to, with the
// query or fragment that follows the path.
type resolvedRef struct {
	ref
	target string
	suffix string
}

// warnf records a warning.
func (b *builder) warnf(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf("assets: "+format, args...))
}

// safeNames drops the files whose logical paths hold characters that are
// not safe in URLs, with a warning each, and returns the others' logical
// paths, sorted.
func (b *builder) safeNames() []string {
	names := make([]string, 0, len(b.files))
	for l := range b.files {
		if strings.ContainsAny(l, unsafeNameChars) || strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			b.warnf("%q skipped: its name contains characters that are not safe in URLs", l)
			delete(b.files, l)
			continue
		}
		names = append(names, l)
	}
	sort.Strings(names)
	return names
}

// findRefs scans file l, a script or a stylesheet, for relative
// references and resolves them to the files they name. A reference that
// leaves the file's source or names no file is left as it is, with a
// warning.
func (b *builder) findRefs(l string) {
	f := b.files[l]
	var found []ref
	var relative func(string) bool
	switch strings.ToLower(path.Ext(l)) {
	case ".js", ".mjs":
		found, relative = scanJS(f.data), isRelativeJS
	case ".css":
		found, relative = scanCSS(f.data), isRelativeCSS
	default:
		return
	}
	seen := make(map[dep]bool)
	for _, r := range found {
		if !relative(r.spec) {
			continue
		}
		target, suffix, escapes := resolveRef(l, f.namespace, r.spec)
		switch {
		case escapes:
			b.warnf("%s: reference %q escapes the source root %q; left unchanged", l, r.spec, f.namespace)
			continue
		case b.files[target] == nil:
			b.warnf("%s: reference %q: %s not found; left unchanged", l, r.spec, target)
			continue
		}
		b.refsOf[l] = append(b.refsOf[l], resolvedRef{ref: r, target: target, suffix: suffix})
		d := dep{target: target, kind: r.kind}
		if !seen[d] {
			seen[d] = true
			b.deps[l] = append(b.deps[l], d)
		}
	}
}

// digestAll digests every file, each after the files it references
// (depth-first post-order). A cycle of references is an error, since the
// digests of its files would depend on themselves.
func (b *builder) digestAll(names []string) error {
	b.assets = make(map[string]*Asset, len(names))
	b.state = make(map[string]uint8, len(names))
	for _, l := range names {
		if b.state[l] == 0 {
			if err := b.digest(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// digest digests the files l references that are not digested yet, then l.
func (b *builder) digest(l string) error {
	b.state[l] = 1
	b.stack = append(b.stack, l)
	for _, d := range b.deps[l] {
		switch b.state[d.target] {
		case 1:
			return b.cycleError(d.target)
		case 0:
			if err := b.digest(d.target); err != nil {
				return err
			}
		}
	}
	b.stack = b.stack[:len(b.stack)-1]
	b.state[l] = 2
	b.assets[l] = b.m.newAsset(l, b.rewrite(l))
	return nil
}

// cycleError describes the cycle that a reference to target, a file being
// digested, closes.
func (b *builder) cycleError(target string) error {
	i := len(b.stack) - 1
	for b.stack[i] != target {
		i--
	}
	cycle := append(append([]string(nil), b.stack[i:]...), target)
	return fmt.Errorf("assets: import cycle %s: content digests cannot be computed; "+
		"a file's digest covers the digested names of the files it references, so a cycle would make it depend on itself "+
		"(move the shared code into a file that both import, or reference one side by an absolute URL)",
		strings.Join(cycle, " -> "))
}

// rewrite returns the content of file l with its references rewritten to
// the digested names of the files they name, which are digested already.
// A reference that cannot be written without escaping is left as it is,
// with a warning.
func (b *builder) rewrite(l string) []byte {
	content := b.files[l].data
	rs := b.refsOf[l]
	if len(rs) == 0 {
		return content
	}
	var out []byte
	last := 0
	for _, r := range rs {
		t := b.assets[r.target]
		repl, ok := safeReplacement(r.ref, relativeURL(path.Dir(l), t.digestedLogical())+r.suffix)
		if !ok {
			b.warnf("%s: reference %q cannot be rewritten to %s safely; left unchanged", l, r.spec, t.PublicPath)
			continue
		}
		out = append(out, content[last:r.start]...)
		out = append(out, repl...)
		last = r.end
	}
	return append(out, content[last:]...)
}

// generation indexes the digested files as the generation after prev (nil
// for the first), which retires the public paths that prev served and
// this one does not, and keeps those retired less than
// retainedGenerations ago.
func (b *builder) generation(names []string, prev *generation) *generation {
	g := &generation{
		byLogical: b.assets,
		byPublic:  make(map[string]*Asset, len(b.assets)),
		sorted:    make([]*Asset, 0, len(b.assets)),
		deps:      b.deps,
		warnings:  b.warnings,
		retired:   make(map[string]retiredAsset),
	}
	sort.Strings(g.warnings)
	for _, l := range names {
		a := b.assets[l]
		g.byPublic[a.PublicPath] = a
		g.sorted = append(g.sorted, a)
	}
	if prev != nil {
		g.number = prev.number + 1
		for p, r := range prev.retired {
			if g.number-r.gen <= retainedGenerations && g.byPublic[p] == nil {
				g.retired[p] = r
			}
		}
		for p, a := range prev.byPublic {
			if g.byPublic[p] == nil {
				g.retired[p] = retiredAsset{asset: a, gen: prev.number}
			}
		}
	}
	return g
}
