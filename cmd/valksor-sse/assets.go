package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/web"
)

// clientPath is the logical path of the JS client in the asset mapper.
const clientPath = "valksorsse/sse.js"

// newMapper builds the asset mapper from the config: the embedded client
// under valksorsse/, then the configured directories.
func (m *Main) newMapper(cfg config.Config, autoReload bool) (*assets.Mapper, assets.ImportMap, error) {
	sources := []assets.Source{{Namespace: "valksorsse", FS: web.ClientFS}}
	for _, a := range cfg.Assets {
		ns, dir, ok := strings.Cut(a, "=")
		if !ok {
			ns, dir = "", a
		}
		path := m.path(dir)
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			return nil, assets.ImportMap{}, fmt.Errorf("assets: %s is not a directory; create it or fix the assets list in the config", dir)
		}
		sources = append(sources, assets.Source{Namespace: ns, FS: os.DirFS(path)})
	}
	mapper, err := assets.NewWithOptions(assets.Options{AutoReload: autoReload}, sources...)
	if err != nil {
		return nil, assets.ImportMap{}, err
	}
	im := assets.ImportMap{Entries: []assets.ImportEntry{{Name: tmpl.ClientEntry, Path: clientPath, Preload: true}}}
	for _, e := range cfg.ImportMap {
		name, path, _ := strings.Cut(e, "=")
		im.Entries = append(im.Entries, assets.ImportEntry{Name: strings.TrimSpace(name), Path: strings.TrimSpace(path), Preload: contains(cfg.Preload, name)})
	}
	return mapper, im, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (m *Main) assets(_ context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"assets needs a command: valksor-sse assets list, or valksor-sse assets compile --out public/assets"}
	}
	sub, args := args[0], args[1:]
	fs := m.newFlagSet("assets "+sub, "assets list|compile [flags]\n\n"+
		"list shows the digested assets; compile writes them, manifest.json, importmap.json and importmap.html\n"+
		"into --out, the directory served as /assets/ (--out dist gives dist/valksorsse/sse-<digest>.js).")
	var c commonFlags
	c.register(fs)
	out := fs.String("out", "public/assets", "output `directory` of compile: the directory your web server serves as /assets/; the files are written directly in it")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	mapper, im, err := m.newMapper(cfg, false)
	if err != nil {
		return err
	}
	for _, w := range mapper.Warnings() {
		fmt.Fprintln(m.Stderr, "warning:", w)
	}
	switch sub {
	case "list":
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGICAL PATH\tPUBLIC PATH\tSIZE")
		for _, a := range mapper.List() {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", a.LogicalPath, a.PublicPath, a.Size)
		}
		return tw.Flush()
	case "compile":
		if err := mapper.CompileDir(m.path(*out), im); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "wrote %d assets, manifest.json, importmap.json and importmap.html to %s\n", len(mapper.List()), *out)
		return nil
	}
	return usageError{fmt.Sprintf("unknown assets command %q; use list or compile", sub)}
}
