package ratelimit

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ListenerConfig configures Listener.
type ListenerConfig struct {
	// PerClient is the most connections one client address (an IPv4
	// address or an IPv6 /64) may hold at once, of any kind: streams,
	// requests in flight and idle keep-alive connections. A connection over
	// it is closed as soon as it is accepted. 0 means no limit.
	PerClient int
	// TrustedProxies are not limited: many clients share their address,
	// and the per-request limits of Limiter look behind them.
	TrustedProxies []netip.Prefix
	// Logger receives warnings: refused connections and running out of
	// file descriptors, each at most once per WarnEvery. Nil means
	// slog.Default().
	Logger *slog.Logger
	// WarnEvery spaces repeated warnings of one kind (default 10s).
	WarnEvery time.Duration
}

// Listener returns ln with the per-client connection budget of c, counted
// at accept time, before any byte of a request is read.
//
// It also keeps a server alive when the process runs out of file
// descriptors: such an accept error is logged as a warning (at most once
// per WarnEvery, with how many connections were refused meanwhile) and
// retried with a backoff of 5ms doubling to 1s, instead of being returned,
// so the server serves again as soon as descriptors free up. Other accept
// errors, and Close, end Accept as usual.
//
// Accepted TCP connections keep every method of *net.TCPConn (SyscallConn
// for non-blocking writes, ReadFrom for sendfile); their Close frees the
// client's slot once.
func Listener(ln net.Listener, c ListenerConfig) net.Listener {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.WarnEvery <= 0 {
		c.WarnEvery = 10 * time.Second
	}
	return &budgetListener{Listener: ln, cfg: c, open: make(map[string]int)}
}

type budgetListener struct {
	net.Listener
	cfg ListenerConfig

	mu   sync.Mutex
	open map[string]int // connections per client key

	refusedWarn warning
	fdWarn      warning
}

// warning rate-limits one kind of log line and counts what it skipped.
type warning struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// due reports whether to log now, and how many occurrences were not logged
// since the last time.
func (w *warning) due(every time.Duration) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.last) >= every {
		n := w.skipped
		w.last, w.skipped = now, 0
		return true, n
	}
	w.skipped++
	return false, 0
}

// Accept implements net.Listener.
func (l *budgetListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			if !outOfDescriptors(err) {
				return nil, err
			}
			if ok, skipped := l.fdWarn.due(l.cfg.WarnEvery); ok {
				l.cfg.Logger.Warn("out of file descriptors: new connections wait until some close; raise the open-files limit (LimitNOFILE) or lower max_connections", "err", err, "repeated", skipped)
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if c, ok := l.admit(conn); ok {
			return c, nil
		}
	}
}

// admit counts conn against its client's budget. A connection over the
// budget is closed and admit reports false.
func (l *budgetListener) admit(conn net.Conn) (net.Conn, bool) {
	if l.cfg.PerClient <= 0 {
		return conn, true
	}
	addr := peerAddr(conn.RemoteAddr().String())
	if !addr.IsValid() || l.trusted(addr) {
		return conn, true
	}
	key := addr.String()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		key = p.String()
	}
	l.mu.Lock()
	n := l.open[key]
	if n >= l.cfg.PerClient {
		l.mu.Unlock()
		_ = conn.Close()
		if ok, skipped := l.refusedWarn.due(l.cfg.WarnEvery); ok {
			l.cfg.Logger.Warn("refused a connection: the client holds its limit of connections (limits.connections_per_ip)", "client", key, "limit", l.cfg.PerClient, "repeated", skipped)
		}
		return nil, false
	}
	l.open[key] = n + 1
	l.mu.Unlock()
	var once atomic.Bool
	release := func() {
		if once.CompareAndSwap(false, true) {
			l.mu.Lock()
			if l.open[key]--; l.open[key] <= 0 {
				delete(l.open, key)
			}
			l.mu.Unlock()
		}
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		return &countedTCPConn{TCPConn: tc, release: release}, true
	}
	return &countedConn{Conn: conn, release: release}, true
}

func (l *budgetListener) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// countedTCPConn frees its client's slot when closed.
type countedTCPConn struct {
	*net.TCPConn
	release func()
}

// Close implements net.Conn.
func (c *countedTCPConn) Close() error {
	defer c.release()
	return c.TCPConn.Close()
}

// countedConn is countedTCPConn for other connection types.
type countedConn struct {
	net.Conn
	release func()
}

// Close implements net.Conn.
func (c *countedConn) Close() error {
	defer c.release()
	return c.Conn.Close()
}

// outOfDescriptors reports whether err is an accept error that passes once
// descriptors free up.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
