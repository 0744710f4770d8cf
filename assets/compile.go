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
	list := m.current().sorted
	imJSON, err := m.ImportMapJSON(im, "")
	if err != nil {
		return err
	}
	manifest := make(map[string]string, len(list))
	for _, a := range list {
		manifest[a.LogicalPath] = a.PublicPath
		if err := writeFile(outDir, a.PublicPath, a.content); err != nil {
			return err
		}
	}
	mJSON, err := json.MarshalIndent(manifest, "", "  ") // map keys are sorted
	if err != nil {
		return fmt.Errorf("assets: encoding manifest: %w", err)
	}
	if err := writeFile(outDir, m.prefix+"manifest.json", append(mJSON, '\n')); err != nil {
		return err
	}
	if err := writeFile(outDir, m.prefix+"importmap.json", append(imJSON, '\n')); err != nil {
		return err
	}
	tags, err := m.RenderImportMap(im, "", "")
	if err != nil {
		return err
	}
	return writeFile(outDir, m.prefix+"importmap.html", []byte(string(tags)+"\n"))
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
