package process

// SetServerPackage makes IsValksorSSE look for programs built from path.
// TestMain calls it before any test runs.
func SetServerPackage(path string) { serverPackage = path }
