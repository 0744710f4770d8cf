package config

import (
	"fmt"
	"strings"
)

// Assets are the asset directories and the import map.
type Assets struct {
	// Dirs lists the asset directories served under /assets/ (key assets):
	// "dir" maps the directory at the root of the logical paths,
	// "namespace=dir" under that namespace.
	Dirs []string
	// ImportMap lists the import map entries (key importmap) as
	// "name=logical/path.js"; the client entry valksorsse/sse is always
	// present.
	ImportMap []string
	// Preload names the import map entries rendered with modulepreload (key
	// importmap_preload).
	Preload []string
}

// checkAssets validates the assets entries.
func checkAssets(c Config) string {
	for _, a := range c.Assets.Dirs {
		ns, dir, ok := strings.Cut(a, "=")
		if !ok {
			ns, dir = "", a
		}
		if strings.TrimSpace(dir) == "" || strings.ContainsAny(ns, "/\\ ") {
			return fmt.Sprintf(`want "dir" or "namespace=dir" (a namespace without slashes or spaces), got %q`, a)
		}
	}
	return ""
}

// checkImportMap validates the importmap entries.
func checkImportMap(c Config) string {
	for _, e := range c.Assets.ImportMap {
		name, path, ok := strings.Cut(e, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(path) == "" {
			return fmt.Sprintf(`want "name=logical/path.js", got %q`, e)
		}
	}
	return ""
}

// checkPreload validates that every preloaded entry is in the import map.
func checkPreload(c Config) string {
	for _, p := range c.Assets.Preload {
		found := p == "valksorsse/sse"
		for _, e := range c.Assets.ImportMap {
			if name, _, _ := strings.Cut(e, "="); name == p {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("%q is not an importmap entry; add it to importmap first", p)
		}
	}
	return ""
}
