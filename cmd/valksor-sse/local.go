package main

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
	"github.com/valksor/go-sse/server"
)

// clientHost is the host a client on this machine dials to reach a server
// bound to host.
func clientHost(host string) string {
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		return "localhost"
	}
	return host
}

// baseURL is the server's URL under the base path, as a local client sees
// it: https when the config has a certificate (tls.cert, or the Symfony
// bundle's for domain), http otherwise. localTransport switches scheme when
// the server turns out to speak the other one (a server started with
// --tls-self-signed).
func (m *Main) baseURL(cfg config.Config) string {
	scheme := "http"
	if cert, _ := m.certFiles(cfg); cert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(clientHost(strings.Trim(cfg.Server.Host, "[]")), strconv.Itoa(cfg.Server.Port)) + cfg.Server.BasePath
}

// localTransport is the transport of the commands that talk to the server
// of the config (publish, status, tail). Over HTTPS it accepts the server's
// own certificate, the one in tls.cert or the one --tls-self-signed wrote
// in this directory, whatever name it was dialled by; any other
// certificate must be valid for the host by the system's roots, as usual.
// A request sent with the wrong scheme (plain HTTP to a TLS server, or the
// reverse) is sent again with the right one.
func (m *Main) localTransport(cfg config.Config) http.RoundTripper {
	return client.NewLocalTransport(m.ownCerts(cfg)...)
}

// localTLS is the TLS configuration of localTransport, for bench.
func (m *Main) localTLS(cfg config.Config) *tls.Config {
	return client.LocalTLS(m.ownCerts(cfg)...)
}

// ownCerts are the certificate files of the server of cfg: tls.cert (or
// the Symfony bundle's for domain), and the one --tls-self-signed writes.
func (m *Main) ownCerts(cfg config.Config) []string {
	cert, _ := m.certFiles(cfg)
	return []string{cert, m.path(filepath.Join(selfSignedDir, server.SelfSignedCert))}
}

// runningServer returns the valksor-sse process listening on the
// configured port, if this user can see one.
func runningServer(cfg config.Config) (process.Owner, bool) {
	if cfg.Server.Port == 0 {
		return process.Owner{}, false
	}
	o, err := process.PortOwner(cfg.Server.Host, cfg.Server.Port)
	if err != nil || o.PID == 0 || o.PID == os.Getpid() || !process.IsValksorSSE(o.PID) {
		return process.Owner{}, false
	}
	return o, true
}

// serverFile resolves a file of the running server, such as the pid file or
// the token file: p against the working directory, as the server does; when
// p is relative and no such file exists here, the same path in the working
// directory of the valksor-sse listening on the configured port, if that
// file exists. So publish, status and stop find the server's files when
// they run elsewhere with --config.
func (m *Main) serverFile(cfg config.Config, p string) string {
	here := m.path(p)
	if p == "" || filepath.IsAbs(p) {
		return here
	}
	if _, err := os.Stat(here); !errors.Is(err, fs.ErrNotExist) {
		return here
	}
	owner, ok := runningServer(cfg)
	if !ok {
		return here
	}
	dir, err := process.Cwd(owner.PID)
	if err != nil {
		return here
	}
	there := filepath.Join(dir, p)
	if _, err := os.Stat(there); err != nil {
		return here
	}
	return there
}
