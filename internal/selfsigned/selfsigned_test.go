package selfsigned

import (
	"testing"
	"time"
)

// TestCertificateCoversHosts: the certificate is valid for the loopback
// names and the hosts given, until notAfter, and for nothing else.
func TestCertificateCoversHosts(t *testing.T) {
	now := time.Now()
	cert, err := Certificate(now, now.Add(time.Hour), []string{"app.test", "10.0.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "app.test", "10.0.0.7"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("not valid for %s: %v", h, err)
		}
	}
	if leaf.VerifyHostname("example.com") == nil {
		t.Error("valid for example.com, which it was not made for")
	}
	if !leaf.NotAfter.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("valid until %v, want %v", leaf.NotAfter, now.Add(time.Hour))
	}
}
