package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"seed.yaml", "symfony.yaml", "bad.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("valksor:\n  sse:\n    <<: &a {port: 1}\n    topics: [*a]\n"))
	f.Add([]byte("valksor: {sse: {retry: 1500, timeout: 1m, cors_origins: '*'}}\n---\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("valksor: {sse: {port: '%env(int:SSE_PORT)%'}}\nwhen@prod: {valksor: {sse: {debug: true, topics: ['%env(T)%']}}}\n"))
	// One directory per fuzzing process, reused by every input: inputs run
	// one at a time within a process, and a fresh t.TempDir per input would
	// dominate the cost of an execution.
	dir := f.TempDir()
	p := filepath.Join(dir, "valksor.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// Without and with a Symfony environment, whose when@ block applies.
		for _, env := range [][]string{nil, {"APP_ENV=prod"}} {
			c, err := config.Load(dir, "", env)
			if err != nil {
				continue
			}
			// Whatever loads must be a valid configuration read from the file.
			if verr := c.Validate(); verr != nil {
				t.Errorf("Load(%q) accepted a config that Validate rejects: %v", env, verr)
			}
			if c.Source != p {
				t.Errorf("Source = %q, want %q", c.Source, p)
			}
		}
	})
}
