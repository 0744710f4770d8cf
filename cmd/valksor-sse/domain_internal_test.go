package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// TestDomainCertificate: as in the Symfony bundle, with domain set and no
// certificate configured the server uses DOMAIN.crt and DOMAIN.key from
// the bundle's directory when both can be read; a configured pair wins,
// and --tls-self-signed issues its certificate for the domain too.
func TestDomainCertificate(t *testing.T) {
	dir := t.TempDir()
	old := domainCertDir
	domainCertDir = dir
	t.Cleanup(func() { domainCertDir = old })
	for _, f := range []string{"app.test.crt", "app.test.key", "half.test.crt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := &Main{Dir: "/project"}
	cfg := func(domain, cert, key string) config.Config {
		c := config.Default()
		c.Server.Domain, c.TLS.Cert, c.TLS.Key = domain, cert, key
		return c
	}
	tests := []struct {
		name            string
		cfg             config.Config
		wantCert, wantK string
	}{
		{"found", cfg("app.test", "", ""), filepath.Join(dir, "app.test.crt"), filepath.Join(dir, "app.test.key")},
		{"no key", cfg("half.test", "", ""), "", ""},
		{"none for the domain", cfg("other.test", "", ""), "", ""},
		{"no domain", cfg("", "", ""), "", ""},
		{"configured pair wins", cfg("app.test", "var/a.crt", "var/a.key"), filepath.Join("/project", "var/a.crt"), filepath.Join("/project", "var/a.key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key := m.certFiles(tt.cfg)
			if cert != tt.wantCert || key != tt.wantK {
				t.Errorf("certFiles = %q, %q; want %q, %q", cert, key, tt.wantCert, tt.wantK)
			}
			o := m.tlsOptions(tt.cfg, false)
			if (o != nil) != (tt.wantCert != "") || (o != nil && o.CertFile != tt.wantCert) {
				t.Errorf("tlsOptions = %+v, want the pair %q", o, tt.wantCert)
			}
			if got := m.baseURL(tt.cfg); (got[:8] == "https://") != (tt.wantCert != "") {
				t.Errorf("baseURL = %s", got)
			}
		})
	}
	if o := m.tlsOptions(cfg("app.test", "", ""), true); o == nil || o.CertFile != "" || !slices.Equal(o.SelfSignedHosts, []string{"app.test"}) {
		t.Errorf("--tls-self-signed with a domain: %+v, want a self-signed certificate for app.test too", o)
	}
}
