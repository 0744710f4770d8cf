// Package e2e holds the end-to-end tests of the browser client: they build
// the real valksor-sse binary, start it, and drive a real headless Chromium
// (/usr/bin/chromium, Debian's package) with chromedp against the demo page
// and the client module it serves. The package has no code of its own; run
// it with
//
//	go test ./e2e/
//
// Without Chromium the tests are skipped, except when CI=true, where they
// fail.
package e2e
