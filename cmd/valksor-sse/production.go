package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
	"github.com/valksor/go-sse/metrics"
	"github.com/valksor/go-sse/ratelimit"
)

// Production features of serve, kept out of serve.go: JWT authorization,
// rate limits, the origin check of cookie-authenticated publishes, metrics,
// readiness, access logs and TLS with HTTP/2. serve calls, in order:
// productionFlags.register, newLogger, newProduction, servePublishToken,
// hubOptions, handler, configure and serve.

// selfSignedDir is where --tls-self-signed keeps its certificate and key,
// relative to the working directory like the pid file.
const selfSignedDir = "var/run"

// Names of the self-signed certificate and key files in selfSignedDir.
const (
	selfSignedCert = "valksor-sse-localhost.crt"
	selfSignedKey  = "valksor-sse-localhost.key"
)

// productionFlags are the serve flags of the production features.
type productionFlags struct {
	tlsSelfSigned bool
}

func (f *productionFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.tlsSelfSigned, "tls-self-signed", false, "serve HTTPS and HTTP/2 with a self-signed localhost certificate (written to "+selfSignedDir+"/ on first use)")
}

// newLogger returns the server's logger: log_format (text or JSON), at
// debug level when debug is on.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	o := &slog.HandlerOptions{Level: slog.LevelInfo}
	if cfg.Debug {
		o.Level = slog.LevelDebug
	}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// production is what serve adds for production use.
type production struct {
	cfg     config.Config
	log     *slog.Logger
	authz   *jwt.Authorizer // nil without JWT keys
	limiter *ratelimit.Limiter
	metrics *metrics.Metrics // nil with metrics: false
	cert    *certReloader    // nil without TLS
	hub     *sse.Hub

	mu      sync.Mutex
	streams map[string]*request // open streams by connection id
}

// newProduction loads keys and certificates and builds the limiter and
// the metrics. Errors name the key at fault.
func (m *Main) newProduction(ctx context.Context, cfg config.Config, flags productionFlags, logger *slog.Logger) (*production, error) {
	p := &production{cfg: cfg, log: logger, streams: make(map[string]*request)}
	var err error
	if p.authz, err = m.authorizer(ctx, cfg, logger); err != nil {
		return nil, err
	}
	proxies, err := ratelimit.ParseTrustedProxies(cfg.LimitTrustedProxies)
	if err != nil {
		return nil, err
	}
	p.limiter, err = ratelimit.New(ratelimit.Config{
		StreamsPerSecond:   float64(cfg.LimitStreamsPerSecond),
		StreamsPerClient:   cfg.LimitStreamsPerIP,
		PublishesPerSecond: float64(cfg.LimitPublishesPerSecond),
		TrustedProxies:     proxies,
		IsStream:           p.isStream,
		IsPublish:          p.isPublish,
		Credential:         p.credential,
		OnLimit:            p.limited,
	})
	if err != nil {
		return nil, err
	}
	certFile, keyFile := m.path(cfg.TLSCert), m.path(cfg.TLSKey)
	if flags.tlsSelfSigned {
		if certFile, keyFile, err = ensureSelfSigned(m.path(selfSignedDir), time.Now()); err != nil {
			return nil, fmt.Errorf("--tls-self-signed: %w", err)
		}
		logger.Info("serving HTTPS with a self-signed certificate for localhost; browsers ask to accept it once", "cert", certFile)
	}
	if certFile != "" {
		if p.cert, err = newCertReloader(certFile, keyFile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// authorizer builds the JWT authorizer of the auth keys, or nil when none
// is configured.
func (m *Main) authorizer(ctx context.Context, cfg config.Config, logger *slog.Logger) (*jwt.Authorizer, error) {
	if cfg.AuthPublisherKey == "" && cfg.AuthSubscriberKey == "" && cfg.AuthJWKSURL == "" {
		return nil, nil
	}
	jc := jwt.Config{JWKSURL: cfg.AuthJWKSURL, Cookie: cfg.AuthCookie, AnonymousSubscribe: cfg.AuthAnonymousSubscribe, Logger: logger}
	load := func(name, spec string) ([]jwt.Key, error) {
		if spec == "" {
			return nil, nil
		}
		k, err := jwt.LoadKey(m.keySpec(spec), cfg.AuthAlgorithm)
		if err != nil {
			return nil, fmt.Errorf("valksor.sse.%s: %w", name, err)
		}
		return []jwt.Key{k}, nil
	}
	var err error
	if jc.PublisherKeys, err = load("auth.publisher_key", cfg.AuthPublisherKey); err != nil {
		return nil, err
	}
	subSpec, subName := cfg.AuthSubscriberKey, "auth.subscriber_key"
	if subSpec == "" {
		subSpec, subName = cfg.AuthPublisherKey, "auth.publisher_key"
	}
	if jc.SubscriberKeys, err = load(subName, subSpec); err != nil {
		return nil, err
	}
	a, err := jwt.New(jc)
	if err != nil {
		return nil, err
	}
	if err := a.Refresh(ctx); err != nil {
		logger.Warn("cannot fetch the JWKS yet; tokens signed with its keys are refused until it answers", "url", cfg.AuthJWKSURL, "err", err)
	}
	return a, nil
}

// keySpec resolves the path of a "file:" key spec against the working
// directory.
func (m *Main) keySpec(spec string) string {
	if path, ok := strings.CutPrefix(spec, "file:"); ok {
		return "file:" + m.path(path)
	}
	return spec
}

// servePublishToken is the static publish token of serve. With JWT
// publisher keys no token is generated: publishers use JWTs, and a
// publish_token set explicitly still works alongside them.
func (m *Main) servePublishToken(cfg config.Config, logger *slog.Logger) (string, error) {
	if jwtOnly(cfg) {
		return "", nil
	}
	return m.publishToken(cfg, logger)
}

// hubOptions are the hub options of the production features.
func (p *production) hubOptions() []sse.Option {
	opts := []sse.Option{sse.WithOnConnect(p.connected), sse.WithOnDisconnect(p.disconnected)}
	if p.authz != nil {
		opts = append(opts, sse.WithAuthorizer(p.authz))
	}
	return opts
}

// isStream reports whether r asks for an event stream (native or Mercure).
func (p *production) isStream(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == p.cfg.BasePath || r.URL.Path == p.cfg.BasePath+"/" ||
		(p.cfg.MercureEnabled && r.URL.Path == mercure.Path))
}

// isPublish reports whether r publishes (native or Mercure).
func (p *production) isPublish(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == p.cfg.BasePath+"/publish" ||
		(p.cfg.MercureEnabled && r.URL.Path == mercure.Path))
}

// credential is what publishes are rate-limited by: the request's token
// (JWT or static), "" without one.
func (p *production) credential(r *http.Request) string {
	if p.authz != nil {
		tok, _ := p.authz.Token(r)
		return tok
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// limited counts a request refused by a rate limit.
func (p *production) limited(r *http.Request, l ratelimit.Limit) {
	if p.metrics == nil {
		return
	}
	p.metrics.Limited(string(l))
	if l != ratelimit.PublishRate {
		p.metrics.StreamOpened(metrics.ResultLimited)
	}
}

// request is the state of one request as the middleware and the hub's
// hooks see it.
type request struct {
	start   time.Time
	method  string
	path    string
	proto   string
	client  string
	stream  bool
	publish bool

	mu      sync.Mutex
	connID  string // set when the hub opened a stream
	release func() // the stream's rate-limit slot
}

type requestKey struct{}

// connected is the hub's connect hook: the stream keeps its rate-limit
// slot until it ends (a hijacked stream outlives its handler).
func (p *production) connected(info sse.ConnInfo) {
	if p.metrics != nil {
		p.metrics.StreamOpened(metrics.ResultOK)
	}
	req, _ := info.Request.Context().Value(requestKey{}).(*request)
	if req == nil {
		return
	}
	release := ratelimit.Keep(info.Request.Context())
	req.mu.Lock()
	req.connID, req.release = info.ID, release
	req.mu.Unlock()
	p.mu.Lock()
	p.streams[info.ID] = req
	p.mu.Unlock()
}

// disconnected is the hub's disconnect hook: it frees the stream's slot
// and writes its access log line.
func (p *production) disconnected(info sse.ConnInfo, reason error) {
	p.mu.Lock()
	req := p.streams[info.ID]
	delete(p.streams, info.ID)
	p.mu.Unlock()
	if req == nil {
		return
	}
	req.mu.Lock()
	release := req.release
	req.mu.Unlock()
	release()
	why := "client went away"
	if reason != nil {
		why = reason.Error()
	}
	p.log.Info("stream", "method", req.method, "path", req.path, "proto", req.proto, "client", req.client,
		"status", http.StatusOK, "conn", info.ID, "topics", info.Topics, "duration", time.Since(req.start).Round(time.Millisecond), "end", why)
}

// handler registers /metrics and base/readyz on mux, and returns mux behind
// the access log, the rate limits and the origin check.
func (p *production) handler(hub *sse.Hub, mux *http.ServeMux) http.Handler {
	p.hub = hub
	if p.cfg.Metrics {
		p.metrics = metrics.New(hub)
		p.metrics.GaugeFunc("valksor_sse_rate_limit_clients", "Clients remembered by the rate limits (buckets and stream holders).", func() float64 {
			s := p.limiter.Stats()
			return float64(s.StreamBuckets + s.PublishBuckets + s.Clients)
		})
		mux.Handle("/metrics", p.metrics.Handler())
	}
	mux.HandleFunc(p.cfg.BasePath+"/readyz", p.serveReady)
	return p.logRequests(p.limiter.Handler(p.checkOrigin(mux)))
}

// serveReady answers 200 while the hub is healthy and not shutting down,
// 503 otherwise (a load balancer stops sending new clients).
func (p *production) serveReady(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "readyz answers GET", http.StatusMethodNotAllowed)
		return
	}
	h := p.hub.Health(r.Context())
	body := map[string]string{"status": "ready"}
	status := http.StatusOK
	if h.Status != "ok" {
		body = map[string]string{"status": "not ready", "reason": h.Status}
		if h.TransportError != "" {
			body["transport_error"] = h.TransportError
		}
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// checkOrigin refuses publishes authenticated by the auth cookie from a
// page whose origin is neither the server's own nor in cors_origins ("*"
// does not count): a cookie is sent by the browser on its own, so without
// this check any site could publish in the name of a logged-in user (CSRF).
// A token in the Authorization header or the query is not ambient and is
// not checked.
func (p *production) checkOrigin(next http.Handler) http.Handler {
	if p.authz == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.isPublish(r) {
			if _, src := p.authz.Token(r); src == jwt.FromCookie && !p.originAllowed(r) {
				origin := r.Header.Get("Origin")
				if origin == "" {
					origin = "another site (Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site") + ")"
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, "a publish authenticated by cookie from %.100q is refused: add the origin to cors_origins, or send the token in the Authorization header\n", origin)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed reports whether the page that sent r may use the cookie.
func (p *production) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin with every POST; without it this is another
		// kind of client, unless the fetch metadata says otherwise.
		site := r.Header.Get("Sec-Fetch-Site")
		return site != "cross-site" && site != "same-site"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == scheme+"://"+r.Host {
		return true
	}
	// A "*" entry lets any page read; it does not vouch for any of them.
	allowed, wildcard := sse.OriginAllowed(p.cfg.CORSOrigins, origin)
	return allowed && !wildcard
}

// probes are logged at debug level only: load balancers poll them.
func (p *production) probe(path string) bool {
	return path == "/metrics" || path == p.cfg.BasePath+"/healthz" || path == p.cfg.BasePath+"/readyz"
}

// logRequests is the outer middleware: it records each request's state for
// the hub's hooks, counts refused streams and publish latency, and writes
// one access log line per request (for streams, when they end). Query
// strings are never logged: they may carry tokens.
func (p *production) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{
			start: time.Now(), method: r.Method, path: r.URL.Path, proto: r.Proto,
			stream: p.isStream(r), publish: p.isPublish(r),
		}
		if ip := p.limiter.ClientIP(r); ip.IsValid() {
			req.client = ip.String()
		} else {
			req.client = r.RemoteAddr
		}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		req.mu.Lock()
		opened := req.connID != ""
		req.mu.Unlock()
		if opened {
			return // logged when the stream ends
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(req.start)
		if p.metrics != nil {
			if req.stream && status != http.StatusTooManyRequests {
				p.metrics.StreamOpened(metrics.ResultRefused)
			}
			if req.publish {
				p.metrics.ObservePublish(status, d)
			}
		}
		level := slog.LevelInfo
		if p.probe(r.URL.Path) {
			level = slog.LevelDebug
		}
		p.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "proto", r.Proto, "client", req.client,
			"status", status, "bytes", sw.bytes, "duration", d.Round(time.Microsecond))
	})
}

// statusWriter records the status and size of a response. It unwraps for
// http.ResponseController, so the hub can still flush, set deadlines and
// hijack through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush flushes the underlying writer, for code that asserts http.Flusher.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scheme is the URL scheme the server speaks.
func (p *production) scheme() string {
	if p.cert != nil {
		return "https"
	}
	return "http"
}

// configure sets up TLS and HTTP/2 on srv. Over TLS, HTTP/2 is offered
// first (ALPN h2, then http/1.1); streams are the same on both.
func (p *production) configure(srv *http.Server) {
	if p.cert == nil {
		return
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	srv.Protocols = &protos
	srv.TLSConfig = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: p.cert.get,
	}
}

// serve runs srv on ln until it stops.
func (p *production) serve(srv *http.Server, ln net.Listener) error {
	if p.cert == nil {
		return srv.Serve(ln)
	}
	return srv.ServeTLS(ln, "", "")
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
// in dir, creating them (ECDSA P-256, for localhost, 127.0.0.1 and ::1,
// valid one year) unless a pair valid for at least another day exists.
func ensureSelfSigned(dir string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && pair.Leaf != nil &&
		pair.Leaf.NotAfter.After(now.Add(24*time.Hour)) && slices.Contains(pair.Leaf.DNSNames, "localhost") {
		return certFile, keyFile, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"valksor-sse development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
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
