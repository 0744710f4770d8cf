package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/valksor/go-sse/bench"
	"github.com/valksor/go-sse/internal/process"
)

// floorCommand is the hidden subcommand that runs the reference floor server
// as a child process of bench --compare-floor.
const floorCommand = "bench-floor"

// bench runs the benchmark against a server (by default the one of the
// config), optionally side by side with the floor server.
func (m *Main) bench(ctx context.Context, args []string) error {
	fs := m.newFlagSet("bench", "bench [flags]\n\nExamples:\n  valksor-sse bench --streams 10000 --publishes 10 --gap 500ms --compare-floor\n  valksor-sse bench --url http://127.0.0.1:8080/sse --streams 1000 --publishes 500 --json")
	var c commonFlags
	c.register(fs)
	target := fs.String("url", "", "stream `URL` of the server under test, base path included (default: the server of the config)")
	streams := fs.Int("streams", 1000, "streams to open")
	publishes := fs.Int("publishes", 10, "events to publish")
	gap := fs.Duration("gap", 0, "time between publishes (0: back to back)")
	topic := fs.String("topic", "bench", "topic the streams subscribe to and events go to")
	token := fs.String("token", "", "publish `token` (default: the config's, then the token file)")
	pid := fs.Int("pid", 0, "server `pid` for the memory reading (default: the pid file, for the config's server)")
	compare := fs.Bool("compare-floor", false, "also run the same scenario against the reference floor server, alternating, and print the ratios")
	rounds := fs.Int("rounds", 3, "rounds per server with --compare-floor (the medians are reported)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	sourceAddrs := fs.Bool("source-addrs", true, "spread client sockets over 127.0.0.1-254 (loopback servers only)")
	concurrency := fs.Int("concurrency", 64, "streams connecting at once")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for deliveries after the last publish")
	slow := fs.Int("slow", 0, "extra streams that connect and never read (does one stalled client slow the others?)")
	size := fs.Int("size", 0, "extra bytes of data per event (up to 3000), to fill the buffers of --slow streams")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	base := *target
	if base == "" {
		base = strings.Replace(baseURL(cfg), "//localhost:", "//127.0.0.1:", 1)
		// The server may speak the other scheme (--tls-self-signed): ask
		// it, as publish and status do.
		hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if _, used, err := fetchHealth(hctx, m.localTransport(cfg), base+"/healthz", ""); err == nil {
			base = used
		}
		cancel()
		if *pid == 0 {
			if res, err := (process.PIDFile{Path: m.path(cfg.PIDFile)}).Check(); err == nil && res.Running {
				*pid = res.PID
			}
		}
	}
	if *token == "" {
		*token = m.readToken(cfg)
	}
	scenario := func(name, streamBase, publishURL, tok string, serverPID int) bench.Config {
		u := streamBase + "?topic=" + url.QueryEscape(*topic)
		return bench.Config{
			Name: name, StreamURL: u, PublishURL: publishURL, PublishToken: tok,
			Streams: *streams, Publishes: *publishes, Gap: *gap, Concurrency: *concurrency,
			SourceAddrs: *sourceAddrs && loopbackV4(streamBase), ServerPID: serverPID,
			Progress: m.Stderr, Timeout: *timeout, Slow: *slow, Padding: *size,
			TLSConfig: m.localTLS(cfg),
		}
	}
	ours := scenario("valksor-sse", base, strings.TrimSuffix(base, "/")+"/publish", *token, *pid)
	if !*compare {
		rep, err := bench.Run(ctx, ours)
		if err != nil {
			return err
		}
		return m.printReport(*asJSON, rep, rep.WriteTable)
	}

	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the floor server: %w", err)
	}
	floorCmd := exec.Command(self, floorCommand)
	floorCmd.Stderr = m.Stderr
	addr, err := bench.StartFloorProcess(floorCmd, 10*time.Second)
	if err != nil {
		return fmt.Errorf("start the floor server: %w", err)
	}
	defer func() {
		if floorCmd.Process.Signal(syscall.SIGTERM) != nil { // Windows has no SIGTERM
			_ = floorCmd.Process.Kill()
		}
		_ = floorCmd.Wait()
	}()
	floor := scenario("floor", "http://"+addr+"/sse", "http://"+addr+"/publish", "", floorCmd.Process.Pid)
	floor.ResetURL = "http://" + addr + "/reset"
	rep, err := bench.Compare(ctx, floor, ours, *rounds)
	if err != nil {
		return err
	}
	return m.printReport(*asJSON, rep, rep.WriteTable)
}

func (m *Main) printReport(asJSON bool, v any, table func(io.Writer) error) error {
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return table(m.Stdout)
}

// floor runs the reference floor server until it is signalled.
func (m *Main) floor(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return bench.RunFloor(ctx, "127.0.0.1:0", bench.AnnounceFloor(m.Stdout))
}

// loopbackV4 reports whether a URL's host is an IPv4 loopback address, the
// only case where source addresses can be spread.
func loopbackV4(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasPrefix(u.Hostname(), "127.")
}
