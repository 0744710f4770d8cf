package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for name only (not localhost,
// not 127.0.0.1) and its key into dir.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// checkLocalCommands runs publish, status and tail in dir against the
// server on port and checks that each reaches it over HTTPS.
func checkLocalCommands(t *testing.T, dir string, port int) {
	t.Helper()
	tail := startTail(t, dir, "--port", strconv.Itoa(port))
	if !strings.Contains(tail.stderr.String(), "https://") {
		t.Errorf("tail follows %q, want an https:// URL", tail.stderr)
	}
	id := publishOK(t, dir, port, "over-tls", "--data", `{"n":1}`)
	typ, gotID, data := parseLine(t, tail.next(10*time.Second))
	if typ != "over-tls" || gotID != id || data != `{"n":1}` {
		t.Errorf("tail printed %s %s %s, want over-tls %s {\"n\":1}", typ, gotID, data, id)
	}
	out, errOut, code := run(t, dir, "status", "--port", strconv.Itoa(port))
	if code != 0 || !strings.Contains(out, "valksor-sse is running") || !strings.Contains(out, "https://localhost:"+strconv.Itoa(port)+"/sse") {
		t.Errorf("status: exit %d, %q %q; want running at https://localhost:%d/sse", code, out, errOut, port)
	}
}

// TestLocalCommandsOverTLS: publish, status, tail (and bench) reach a server that
// serves HTTPS, trusting its own certificate whatever name it carries.
func TestLocalCommandsOverTLS(t *testing.T) {
	t.Parallel()

	t.Run("tls.cert", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		certFile, keyFile := writeCert(t, dir, "sse.example.test")
		cfg := "valksor:\n  sse:\n    tls:\n      cert: " + certFile + "\n      key: " + keyFile + "\n"
		if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		s := startProd(t, dir, nil)
		if s.scheme != "https" {
			t.Fatalf("the server listens on %s", s.scheme)
		}
		checkLocalCommands(t, dir, s.port)
	})

	// Started with --tls-self-signed, which the config does not say: the
	// commands find out and use the certificate it wrote.
	t.Run("self-signed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := startProd(t, dir, nil, "--tls-self-signed")
		checkLocalCommands(t, dir, s.port)
		if out, errOut, code := run(t, dir, "bench", "--port", strconv.Itoa(s.port), "--streams", "5", "--publishes", "2", "--rounds", "1"); code != 0 || !strings.Contains(out+errOut, "10 of 10 received") {
			t.Errorf("bench over https: exit %d\n%s%s", code, out, errOut)
		}

		// Elsewhere the certificate is unknown: refused, and said so.
		_, errOut, code := run(t, t.TempDir(), "publish", "reload", "--port", strconv.Itoa(s.port), "--token", "x")
		if code == 0 || !strings.Contains(errOut, "certificate") {
			t.Errorf("publish from a directory without the certificate: exit %d, %q; want a certificate error", code, errOut)
		}
	})
}
