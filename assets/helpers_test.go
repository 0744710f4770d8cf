package assets_test

import (
	"testing"
	"testing/fstest"

	"github.com/valksor/go-sse/assets"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// pngBytes is the start of a PNG file, enough for content sniffing.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

// appFS is the application's asset directory used by most tests.
func appFS() fstest.MapFS {
	return fstest.MapFS{
		"app.js": file("import { connect } from './lib/util.js';\n" +
			"import 'valksorsse/sse';\n" +
			"export * from './lib/util.js';\n" +
			"const lazy = () => import('./lazy.js');\n"),
		"lib/util.js":        file("export const connect = () => new Worker(new URL('./worker.js', import.meta.url));\n"),
		"lib/worker.js":      file("self.onmessage = (e) => self.postMessage(e.data);\n"),
		"lazy.js":            file("export default 42;\n"),
		"styles/app.css":     file("@import \"base.css\";\nbody { background: url(../images/bg.png) }\n@font-face { src: url('../fonts/f.woff2') format('woff2') }\n"),
		"styles/base.css":    file("html { color: black }\n"),
		"images/bg.png":      &fstest.MapFile{Data: pngBytes},
		"fonts/f.woff2":      file("wOF2fake"),
		"data.json":          file(`{"a":1}`),
		"icon.svg":           file(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`),
		".hidden.js":         file("secret"),
		".git/config":        file("secret"),
		"node_modules/x.js":  file("secret"),
		"lib/node_modules/y": file("secret"),
	}
}

// webFS stands in for web.FS, the SSE client.
func webFS() fstest.MapFS {
	return fstest.MapFS{
		"sse.js":    file("import { start } from './worker.js';\nstart();\n"),
		"worker.js": file("export function start() {}\n"),
	}
}

func newMapper(t testing.TB, sources ...assets.Source) *assets.Mapper {
	t.Helper()
	if len(sources) == 0 {
		sources = []assets.Source{{FS: appFS()}, {Namespace: "valksorsse", FS: webFS()}}
	}
	m, err := assets.New(sources...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustLookup(t testing.TB, m *assets.Mapper, logical string) assets.Asset {
	t.Helper()
	a, err := m.Lookup(logical)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
