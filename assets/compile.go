package assets

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Compile writes the current assets for production: every file under
// outDir joined with its public path (outDir "public" and prefix "/assets/"
// give public/assets/app-3f2a1b9c.js), and, in the prefix directory
// (public/assets/), manifest.json (logical path → public path, sorted by
// logical path), importmap.json (the import map for im, as returned by
// [Mapper.ImportMapJSON] with an empty base URL) and importmap.html (the
// same as tags for a page's <head>, with the modulepreload links of the
// preloaded entries, as returned by [Mapper.RenderImportMap]). Existing files are
// overwritten; stale ones are left alone. Errors start with "assets:"; on
// error some files may have been written. Safe for concurrent use.
func (m *Mapper) Compile(outDir string, im ImportMap) error {
	return m.compile(outDir, m.prefix, im)
}

// CompileDir is Compile into the directory served at the prefix itself:
// dir "public/assets" (or "dist") gets app-3f2a1b9c.js, manifest.json,
// importmap.json and importmap.html at its top, and the other files under
// their paths below the prefix. The import map's URLs are the same as
// Compile's (they include the prefix).
func (m *Mapper) CompileDir(dir string, im ImportMap) error {
	return m.compile(dir, "", im)
}

// compile writes the files as Compile does, with each public path's
// prefix replaced by under.
func (m *Mapper) compile(outDir, under string, im ImportMap) error {
	list := m.current().sorted
	imJSON, err := m.ImportMapJSON(im, "")
	if err != nil {
		return err
	}
	tags, err := m.RenderImportMap(im, "", "")
	if err != nil {
		return err
	}
	place := func(urlPath string) string { return under + strings.TrimPrefix(urlPath, m.prefix) }
	manifest := make(map[string]string, len(list))
	for _, a := range list {
		manifest[a.LogicalPath] = a.PublicPath
		if err := writeFile(outDir, place(a.PublicPath), a.content); err != nil {
			return err
		}
	}
	mJSON, err := json.MarshalIndent(manifest, "", "  ") // map keys are sorted
	if err != nil {
		return fmt.Errorf("assets: encoding manifest: %w", err)
	}
	for name, data := range map[string][]byte{
		"manifest.json":  append(mJSON, '\n'),
		"importmap.json": append(imJSON, '\n'),
		"importmap.html": []byte(string(tags) + "\n"),
	} {
		if err := writeFile(outDir, under+name, data); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(outDir, urlPath string, data []byte) error {
	name := filepath.Join(outDir, filepath.FromSlash(strings.TrimPrefix(urlPath, "/")))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("assets: compile: %w", err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return fmt.Errorf("assets: compile: %w", err)
	}
	return nil
}
