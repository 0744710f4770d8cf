package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/valksor/go-sse/bench"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
)

// floorCommand is the hidden subcommand that runs the reference floor server
// as a child process of bench --compare-floor.
const floorCommand = "bench-floor"

// benchFlags are the flags of bench.
type benchFlags struct {
	common      configFlags
	target      string
	streams     int
	publishes   int
	gap         time.Duration
	topic       string
	token       string
	pid         int
	compare     bool
	rounds      int
	asJSON      bool
	sourceAddrs bool
	concurrency int
	timeout     time.Duration
	slow        int
	size        int
	insecure    bool
	ca          string
	h2          bool
	h2PerConn   int
	publishers  int
	nodes       string
	pids        string
	subscribe   bool
	readyFile   string
	await       time.Duration
}

func (f *benchFlags) register(fs *flagSet) {
	f.common.register(fs, roleClient)
	fs.StringVar(&f.target, "url", "", "stream `URL` of the server under test, base path included (default: the server of the config)")
	fs.IntVar(&f.streams, "streams", 1000, "streams to open")
	fs.IntVar(&f.publishes, "publishes", 10, "events to publish")
	fs.DurationVar(&f.gap, "gap", 0, "time between publishes (0: back to back)")
	fs.StringVar(&f.topic, "topic", "bench", "topic the streams subscribe to and events go to")
	fs.StringVar(&f.token, "token", "", "publish `token` (default: the config's, then the token file)")
	fs.IntVar(&f.pid, "pid", 0, "server `PID` for the memory reading (default: the pid file, for the config's server)")
	fs.BoolVar(&f.compare, "compare-floor", false, "also run the same scenario against the reference floor server, alternating, and print the ratios")
	fs.IntVar(&f.rounds, "rounds", 3, "rounds per server with --compare-floor (the medians are reported)")
	fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&f.sourceAddrs, "source-addrs", true, "spread client sockets over 127.0.0.1-254 (loopback servers only)")
	fs.IntVar(&f.concurrency, "concurrency", 64, "streams connecting at once")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for deliveries after the last publish")
	fs.IntVar(&f.slow, "slow", 0, "extra streams that connect and never read (does one stalled client slow the others?)")
	fs.IntVar(&f.size, "size", 0, "extra bytes of data per event (up to 3000), to fill the buffers of --slow streams")
	fs.BoolVar(&f.insecure, "insecure", false, "https: skip verifying the server's certificate (for benchmarking a server of your own, such as one with --tls-self-signed)")
	fs.StringVar(&f.ca, "ca", "", "https: trust the certificates of this PEM `FILE` (the server's own, or its CA) instead of the system's")
	fs.BoolVar(&f.h2, "h2", false, "open the streams as HTTP/2 streams over TLS, multiplexed over a few connections as browsers do (https --url)")
	fs.IntVar(&f.h2PerConn, "h2-streams-per-conn", bench.DefaultH2StreamsPerConn, "streams per HTTP/2 connection with --h2")
	fs.IntVar(&f.publishers, "publishers", 1, "publishers sending at once, back to back, over keep-alive connections (publish throughput)")
	fs.StringVar(&f.nodes, "nodes", "", "comma-separated stream `URLs` of servers sharing one transport (Redis): --streams on each, events published to the first, compared with the first alone (--rounds)")
	fs.StringVar(&f.pids, "pids", "", "with --nodes: the servers' comma-separated process `IDs`, in the order of --nodes, for the memory per idle stream")
	fs.BoolVar(&f.subscribe, "subscribe-only", false, "open the streams and wait for --publishes events that another process publishes; prints latencies with --json")
	fs.StringVar(&f.readyFile, "ready-file", "", "with --subscribe-only: create this `FILE` once the streams are connected")
	fs.DurationVar(&f.await, "await", bench.DefaultAwaitTimeout, "with --subscribe-only: how long to wait for the first event")
}

// bench runs the benchmark against a server (by default the one of the
// config), optionally side by side with the floor server.
func (m *Main) bench(ctx context.Context, args []string) error {
	var f benchFlags
	fs := m.newFlagSet("bench", "bench [flags]", `Measures a running server: streams held, delivery latency and loss, memory.

Over https the streams are HTTP/1.1, one TLS connection each; --h2 opens them
as HTTP/2 streams instead, 100 to a connection. The server's own certificate
(tls.cert, or the one --tls-self-signed wrote here) is trusted; for any
other, give its CA with --ca, or skip verification with --insecure. With
https, --compare-floor also runs a TLS floor and reports what TLS itself
costs a stream.

Examples:
  valksor-sse bench --streams 10000 --publishes 10 --gap 500ms --compare-floor
  valksor-sse bench --url http://127.0.0.1:8080/sse --streams 1000 --publishes 500 --json
  valksor-sse bench --url https://127.0.0.1:8443/sse --insecure --h2 --streams 2000 --compare-floor
  valksor-sse bench --streams 100 --publishes 5000 --publishers 8
  valksor-sse bench --nodes http://127.0.0.1:9381/sse,http://127.0.0.1:9382/sse --streams 15000 --gap 500ms
  (scripts/bench-nodes in the source tree starts three servers on one Redis and runs --nodes)`)
	f.register(fs)
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	cfg, err := m.load(f.common)
	if err != nil {
		return err
	}
	if f.token == "" {
		f.token, _ = m.clientPublishToken(cfg)
	}
	tlsConfig, err := f.tlsConfig(m.localTLS(cfg))
	if err != nil {
		return err
	}
	if f.nodes != "" {
		return m.benchNodes(ctx, &f, tlsConfig)
	}
	base := f.target
	if base == "" {
		base = m.benchTarget(ctx, cfg, &f)
	}
	if f.h2 && !strings.HasPrefix(base, "https://") {
		return fmt.Errorf("--h2 needs an https server (HTTP/2 streams run over TLS), and %s is not: give --url https://... or start the server with TLS", base)
	}
	ours := f.scenario(m, "valksor-sse", base, strings.TrimSuffix(base, "/")+"/publish", f.token, f.pid, tlsConfig)
	ours.H2, ours.H2StreamsPerConn = f.h2, f.h2PerConn
	if f.subscribe {
		return m.benchSubscribe(ctx, &f, ours)
	}
	if !f.compare {
		rep, err := bench.Run(ctx, ours)
		if err != nil {
			return err
		}
		return m.printReport(f.asJSON, rep, rep.WriteTable)
	}
	if strings.HasPrefix(base, "https://") {
		return m.compareTLSFloor(ctx, &f, ours)
	}
	return m.compareFloor(ctx, &f, ours)
}

// benchTarget is the stream URL of the config's server, in the scheme it
// answers with (a --tls-self-signed server speaks https), and sets the
// server's pid from the pid file when --pid is not given.
func (m *Main) benchTarget(ctx context.Context, cfg config.Config, f *benchFlags) string {
	base := strings.Replace(m.baseURL(cfg), "//localhost:", "//127.0.0.1:", 1)
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, used, err := fetchHealth(hctx, m.localTransport(cfg), base+"/healthz", ""); err == nil {
		base = used
	}
	if f.pid == 0 {
		if res, err := (process.PIDFile{Path: m.path(cfg.Server.PIDFile)}).Check(); err == nil && res.Running {
			f.pid = res.PID
		}
	}
	return base
}

// scenario is the benchmark of the flags against one server.
func (f *benchFlags) scenario(m *Main, name, streamBase, publishURL, tok string, serverPID int, tlsConfig *tls.Config) bench.Config {
	return bench.Config{
		Name: name, StreamURL: streamBase + "?topic=" + url.QueryEscape(f.topic), PublishURL: publishURL, PublishToken: tok,
		Streams: f.streams, Publishes: f.publishes, Gap: f.gap, Concurrency: f.concurrency,
		SourceAddrs: f.sourceAddrs && loopbackV4(streamBase), ServerPID: serverPID,
		Progress: m.Stderr, Timeout: f.timeout, Slow: f.slow, Padding: f.size,
		TLSConfig: tlsConfig, Publishers: f.publishers, AwaitTimeout: f.await,
	}
}

// compareFloor runs the scenario against ours and the floor server, a
// child process, alternating.
func (m *Main) compareFloor(ctx context.Context, f *benchFlags, ours bench.Config) error {
	floor, stop, err := m.startFloor(f, "floor", false)
	if err != nil {
		return err
	}
	defer stop()
	rep, err := bench.Compare(ctx, floor, ours, f.rounds)
	if err != nil {
		return err
	}
	return m.printReport(f.asJSON, rep, rep.WriteTable)
}

// startFloor starts a floor server process, plaintext or TLS, and returns
// the scenario of the flags against it and the function that stops it.
func (m *Main) startFloor(f *benchFlags, name string, withTLS bool) (bench.Config, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return bench.Config{}, nil, fmt.Errorf("find this program to start the floor server: %w", err)
	}
	args, scheme := []string{floorCommand}, "http"
	var tlsConfig *tls.Config
	if withTLS {
		// The TLS floor's certificate is made in memory: nothing to verify.
		args, scheme, tlsConfig = append(args, "--tls"), "https", &tls.Config{InsecureSkipVerify: true}
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = m.Stderr
	addr, err := bench.StartFloorProcess(cmd, 10*time.Second)
	if err != nil {
		return bench.Config{}, nil, fmt.Errorf("start the floor server: %w", err)
	}
	stop := func() {
		if cmd.Process.Signal(syscall.SIGTERM) != nil { // Windows has no SIGTERM
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
	}
	base := scheme + "://" + addr
	floor := f.scenario(m, name, base+"/sse", base+"/publish", "", cmd.Process.Pid, tlsConfig)
	floor.ResetURL = base + "/reset"
	return floor, stop, nil
}

// compareTLSFloor runs the scenario against ours (https, HTTP/1.1 or
// HTTP/2), the TLS floor and the plaintext floor, alternating.
func (m *Main) compareTLSFloor(ctx context.Context, f *benchFlags, ours bench.Config) error {
	plain, stopPlain, err := m.startFloor(f, "floor", false)
	if err != nil {
		return err
	}
	defer stopPlain()
	tlsFloor, stopTLS, err := m.startFloor(f, "floor-tls", true)
	if err != nil {
		return err
	}
	defer stopTLS()
	rep, err := bench.CompareTLS(ctx, plain, tlsFloor, ours, f.rounds)
	if err != nil {
		return err
	}
	return m.printReport(f.asJSON, rep, rep.WriteTable)
}

// tlsConfig is the TLS configuration of the streams and publishes: local
// (the server's own certificate trusted) unless --insecure or --ca says
// otherwise.
func (f *benchFlags) tlsConfig(local *tls.Config) (*tls.Config, error) {
	switch {
	case f.insecure && f.ca != "":
		return nil, errors.New("--insecure skips verification and --ca verifies against a file: give one of them")
	case f.insecure:
		return &tls.Config{InsecureSkipVerify: true}, nil
	case f.ca != "":
		b, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca %s holds no PEM certificate: give the server's certificate or its CA, PEM-encoded", f.ca)
		}
		return &tls.Config{RootCAs: pool}, nil
	}
	return local, nil
}

func (m *Main) printReport(asJSON bool, v any, table func(io.Writer) error) error {
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return table(m.Stdout)
}

// floor runs the reference floor server until it is signalled; with
// --tls, the TLS floor.
func (m *Main) floor(ctx context.Context, args []string) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if slices.Contains(args, "--tls") {
		return bench.RunFloorTLS(ctx, "127.0.0.1:0", bench.AnnounceFloor(m.Stdout))
	}
	return bench.RunFloor(ctx, "127.0.0.1:0", bench.AnnounceFloor(m.Stdout))
}

// loopbackV4 reports whether a URL's host is an IPv4 loopback address, the
// only case where source addresses can be spread.
func loopbackV4(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasPrefix(u.Hostname(), "127.")
}
