package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
)

// assetsAbout is the help text of assets.
const assetsAbout = `list shows the digested assets; compile writes them, manifest.json, importmap.json and importmap.html
into --out, the directory served as /assets/ (--out dist gives dist/valksorsse/sse-<digest>.js).`

// assets lists or compiles the digested assets of the config.
func (m *Main) assets(_ context.Context, args []string) error {
	var sub string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var c configFlags
	fs := m.newFlagSet(strings.TrimSpace("assets "+sub), "assets list|compile [flags]", assetsAbout)
	c.register(fs, roleConfig)
	out := fs.String("out", "public/assets", "output `directory` of compile: the directory your web server serves as /assets/; the files are written directly in it")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	switch sub {
	case "":
		return usageError{"assets needs a command: valksor-sse assets list, or valksor-sse assets compile --out public/assets"}
	case "list", "compile":
	default:
		return usageError{fmt.Sprintf("unknown assets command %q; use list or compile", sub)}
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
	if sub == "list" {
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGICAL PATH\tPUBLIC PATH\tSIZE")
		for _, a := range mapper.List() {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", a.LogicalPath, a.PublicPath, a.Size)
		}
		return tw.Flush()
	}
	if err := mapper.CompileDir(m.path(*out), im); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %d assets, manifest.json, importmap.json and importmap.html to %s\n", len(mapper.List()), *out)
	return nil
}
