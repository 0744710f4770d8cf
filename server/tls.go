package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/valksor/go-sse/internal/selfsigned"
)

// Names of the self-signed certificate and key files in
// TLS.SelfSignedDir.
const (
	SelfSignedCert = "valksor-sse-localhost.crt"
	SelfSignedKey  = "valksor-sse-localhost.key"
)

// newCert loads the certificate of t, creating the self-signed one when
// asked; nil without TLS.
func newCert(t *TLS, logger *slog.Logger) (*certReloader, error) {
	if t == nil {
		return nil, nil
	}
	certFile, keyFile := t.CertFile, t.KeyFile
	if t.SelfSignedDir != "" {
		var err error
		if certFile, keyFile, err = ensureSelfSigned(t.SelfSignedDir, t.SelfSignedHosts, time.Now()); err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		logger.Info("serving HTTPS with a self-signed certificate; browsers ask to accept it once", "cert", certFile, "hosts", append([]string{"localhost"}, t.SelfSignedHosts...))
	}
	if certFile == "" {
		return nil, nil
	}
	return newCertReloader(certFile, keyFile)
}

// certReloader serves a certificate from files, loading them again when
// the certificate file changes (a renewal needs no restart).
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads the pair.
func (c *certReloader) load() error {
	st, err := os.Stat(c.certFile)
	if err != nil {
		return fmt.Errorf("tls.cert: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls.cert and tls.key: %w", err)
	}
	c.mu.Lock()
	c.cert, c.modTime = &pair, st.ModTime()
	c.mu.Unlock()
	return nil
}

// get is tls.Config.GetCertificate: it looks at the file at most once a
// second and keeps the old pair when the new one does not load.
func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	now := time.Now()
	recheck := now.Sub(c.checked) >= time.Second
	if recheck {
		c.checked = now
	}
	cert, mod := c.cert, c.modTime
	c.mu.Unlock()
	if recheck {
		if st, err := os.Stat(c.certFile); err == nil && !st.ModTime().Equal(mod) {
			if err := c.load(); err == nil {
				c.mu.Lock()
				cert = c.cert
				c.mu.Unlock()
			}
		}
	}
	return cert, nil
}

// ensureSelfSigned returns the self-signed localhost certificate and key
// in dir, creating them (ECDSA P-256, for localhost, 127.0.0.1, ::1 and
// hosts, valid one year) unless a pair for all of them valid for at least
// another day exists.
func ensureSelfSigned(dir string, hosts []string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, SelfSignedCert), filepath.Join(dir, SelfSignedKey)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && pair.Leaf != nil &&
		pair.Leaf.NotAfter.After(now.Add(24*time.Hour)) && slices.Contains(pair.Leaf.DNSNames, "localhost") && covers(pair.Leaf, hosts) {
		return certFile, keyFile, nil
	}
	certPEM, keyPEM, err := selfsigned.PEM(now, now.AddDate(1, 0, 0), hosts)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	if err := writeAtomic(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeAtomic(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// covers reports whether cert is valid for every host.
func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writeAtomic writes b to path through a temporary file and a rename.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp, mode)); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
