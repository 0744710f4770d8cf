// Package e2e holds the end-to-end tests: they build the real valksor-sse
// binary, start it as a user would, and drive a real headless Chromium
// (/usr/bin/chromium, Debian's package) with chromedp against the pages it
// serves or injects into. They cover the browser client (connection,
// reloads, morphing, stylesheets, tabs sharing one connection), the dev
// proxy, the dashboard, Mercure subscribers, and the documents: the
// README's quick start, the guides under docs/ and the examples' READMEs,
// whose commands the tests read from the documents and run.
//
// The directory is a module of its own (with a replace to the root), so
// that chromedp never enters the module graph of an app that imports the
// library. The package has no code of its own; run it with
//
//	cd e2e && go test ./...
//
// Without Chromium the browser tests are skipped, except when CI=true,
// where they fail.
package e2e
