//go:build !unix

package watch_test

import "testing"

func runAsNobody(t *testing.T, _, _ string) { t.Skip("needs unix credentials") }
