package assets

import (
	"fmt"
	"path"
	"strings"
)

// Lookup returns the asset with the given logical path ("valksorsse/sse.js").
// The error, starting with "assets:", names the path when there is no such
// asset. Under AutoReload it may rescan the sources first. Safe for
// concurrent use.
func (m *Mapper) Lookup(logicalPath string) (Asset, error) {
	a := m.current().byLogical[logicalPath]
	if a == nil {
		return Asset{}, fmt.Errorf("assets: no asset with logical path %q", logicalPath)
	}
	return *a, nil
}

// PublicPath returns the digested public URL path of the asset with the given
// logical path, such as "/assets/app-3f2a1b9c.js", or an error naming the
// path when there is no such asset. Safe for concurrent use.
func (m *Mapper) PublicPath(logicalPath string) (string, error) {
	a, err := m.Lookup(logicalPath)
	if err != nil {
		return "", err
	}
	return a.PublicPath, nil
}

// List returns all current assets sorted by logical path. The slice is a
// fresh copy the caller may modify. Safe for concurrent use.
func (m *Mapper) List() []Asset {
	g := m.current()
	out := make([]Asset, len(g.sorted))
	for i, a := range g.sorted {
		out[i] = *a
	}
	return out
}

// Warnings returns the problems found by the last successful scan, sorted:
// references to missing files, references escaping their source, files
// skipped for their names. If the last automatic rescan under AutoReload
// failed (a cycle was introduced, say), its error comes first; the previous
// map is still being served in that case. The slice is a fresh copy. Safe
// for concurrent use.
func (m *Mapper) Warnings() []string {
	g := m.current()
	var out []string
	if e := m.reloadErr.Load(); e != nil {
		out = append(out, "assets: last reload failed, serving the previous generation: "+strings.TrimPrefix(*e, "assets: "))
	}
	return append(out, g.warnings...)
}

// lookupPublic finds the asset served under a public URL path, in the
// current generation or a retained previous one.
func (g *generation) lookupPublic(p string) *Asset {
	if a := g.byPublic[p]; a != nil {
		return a
	}
	if r, ok := g.retired[p]; ok {
		return r.asset
	}
	return nil
}

// deepDeps returns the logical paths of the files a JS file references
// transitively, in depth-first order without duplicates, following only the
// edges whose kind is accepted by follow.
func (g *generation) deepDeps(root string, follow func(refKind) bool) []string {
	var out []string
	seen := map[string]bool{root: true}
	var walk func(string)
	walk = func(l string) {
		for _, d := range g.deps[l] {
			if seen[d.target] || !follow(d.kind) || !isJSPath(d.target) {
				continue
			}
			seen[d.target] = true
			out = append(out, d.target)
			walk(d.target)
		}
	}
	walk(root)
	return out
}

func isJSPath(l string) bool {
	switch strings.ToLower(path.Ext(l)) {
	case ".js", ".mjs":
		return true
	}
	return false
}
