// Command screenshot takes the screenshot of docs/dashboard.md: it starts
// a valksor-sse server, opens streams, publishes a stream of events, and
// captures the dashboard in headless Chromium while the load runs.
//
//	go run -C e2e ./screenshot -bin "$PWD/valksor-sse" -out "$PWD/docs/dashboard.png"
//
// scripts/screenshot-dashboard builds the binary and runs it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

func main() {
	bin := flag.String("bin", "", "the valksor-sse `binary` to run")
	out := flag.String("out", "docs/dashboard.png", "PNG `file` to write")
	streams := flag.Int("streams", 50, "streams to open")
	load := flag.Duration("load", 12*time.Second, "how long to publish before the screenshot")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "screenshot: -bin is required (scripts/screenshot-dashboard builds it)")
		os.Exit(2)
	}
	if err := run(*bin, *out, *streams, *load); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
}

var listening = regexp.MustCompile(`valksor-sse listening on (https?://[^ /]+)/sse`)

func run(bin, out string, nStreams int, load time.Duration) error {
	dir, err := os.MkdirTemp("", "valksor-sse-screenshot")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv := exec.CommandContext(ctx, bin, "serve", "--host", "127.0.0.1", "--port", "0")
	srv.Dir = dir
	// A long write timeout: hijacked streams of the current hub end
	// write_timeout after they open (their hand-off deadline is never
	// cleared), which would empty the picture.
	srv.Env = append(os.Environ(), "VALKSOR_SSE_MAX_CONNECTIONS=200", "VALKSOR_SSE_WRITE_TIMEOUT=1h")
	stderr, err := srv.StderrPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	origin, err := waitListening(stderr)
	if err != nil {
		return err
	}
	token, err := os.ReadFile(filepath.Join(dir, "var/run/valksor-sse.token"))
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "screenshot: server at", origin)

	topics := []string{"", "orders", "orders", "news", "chat"}
	var wg sync.WaitGroup
	defer wg.Wait()
	stream := func(i int) error {
		u := origin + "/sse"
		if t := topics[i%len(topics)]; t != "" {
			u += "?topic=" + t
		}
		return openStream(ctx, &wg, u)
	}
	first := min(10, nStreams)
	for i := range first {
		if err := stream(i); err != nil {
			return err
		}
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium()), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(filepath.Join(dir, "profile")))...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(tab,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(origin+"/sse/_dashboard"),
	); err != nil {
		return err
	}
	if err := waitJS(tab, `document.body.dataset.state === 'live' && Number(document.body.dataset.stats) >= 1`, 15*time.Second); err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "screenshot: opening %d streams and publishing for %v\n", nStreams, load)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	errs := make(chan error, 2)
	go func() { errs <- publish(loadCtx, origin+"/sse", strings.TrimSpace(string(token))) }()
	go func() {
		// The rest of the streams arrive over the first seconds: a ramp.
		for i := first; i < nStreams; i++ {
			if err := stream(i); err != nil {
				errs <- err
				return
			}
			select {
			case <-loadCtx.Done():
				errs <- nil
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		errs <- nil
	}()
	// The picture is taken under load, once the page has seen it for a while.
	if err := waitJS(tab, fmt.Sprintf(`Number(document.body.dataset.stats) >= %d`, 1+int(load.Seconds())), load+15*time.Second); err != nil {
		return err
	}
	// The whole page in the viewport: sticky table headers beyond it do
	// not always paint in a capture beyond the viewport.
	height, err := chromedp.Run(tab, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		return err
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, height)); err != nil {
		return err
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "screenshot: wrote %s (%d bytes)\n", out, len(png))
	stopLoad()
	for range 2 {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	cancel()
	return nil
}

// waitListening reads the server's log until it listens and returns its origin.
func waitListening(r io.Reader) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case o, ok := <-found:
		if !ok {
			return "", errors.New("the server exited before listening")
		}
		return o, nil
	case <-time.After(20 * time.Second):
		return "", errors.New("the server is not listening after 20s")
	}
}

// openStream opens a stream and reads it until ctx ends.
func openStream(ctx context.Context, wg *sync.WaitGroup, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("stream %s: %s", url, resp.Status)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
	return nil
}

// publish sends a varying stream of events, 10 to 130 a second, until ctx
// ends.
func publish(ctx context.Context, base, token string) error {
	p := &client.Publisher{URL: base, Token: token}
	kinds := []struct {
		typ, topic string
		data       func(i int) any
	}{
		{"order-created", "orders", func(i int) any { return map[string]any{"order": 1000 + i, "total": float64(i%97) + 0.99} }},
		{"order-shipped", "orders", func(i int) any { return map[string]any{"order": 1000 + i - 3, "carrier": "dhl"} }},
		{"news-item", "news", func(i int) any { return map[string]any{"title": fmt.Sprintf("Headline %d", i)} }},
		{"chat-message", "chat", func(i int) any { return map[string]any{"from": "ana", "text": "hello there"} }},
		{"custom-notification", "", func(i int) any { return map[string]any{"message": "Hello from server!"} }},
	}
	start := time.Now()
	for i := 0; ; i++ {
		k := kinds[i%len(kinds)]
		e := sse.Event{Type: k.typ, Data: k.data(i)}
		if k.topic != "" {
			e.Topics = []string{k.topic}
		}
		if _, err := p.Publish(ctx, e); err != nil {
			return err
		}
		rate := 70 + 60*math.Sin(time.Since(start).Seconds()/2)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(float64(time.Second) / rate)):
		}
	}
}

// waitJS polls the page until expr is true.
func waitJS(tab context.Context, expr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool]("(() => { try { return !!("+expr+") } catch { return false } })()"))
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %v for %s (last error %v)", within, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func chromium() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return "chromium"
}
