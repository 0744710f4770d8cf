package process_test

import (
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/process"
)

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func TestPortOwner(t *testing.T) {
	_, err := process.PortOwner("127.0.0.1", 1)
	skipUnsupported(t, err)
	sse := startHolder(t, binSSE, "serve", "--port", "x")
	other := startHolder(t, binOther)
	// A wildcard listener held by the test process itself (dual-stack [::]
	// when IPv6 is available, so it shows up in /proc/net/tcp6).
	wild, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wild.Close() })
	wildPort := wild.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		host    string
		port    int
		wantPID int
	}{
		{"exact address", "127.0.0.1", sse.port, sse.pid()},
		{"localhost", "localhost", sse.port, sse.pid()},
		{"wildcard query", "0.0.0.0", sse.port, sse.pid()},
		{"empty host", "", sse.port, sse.pid()},
		{"ipv6 wildcard query", "::", other.port, other.pid()},
		{"other program", "127.0.0.1", other.port, other.pid()},
		{"other loopback address is free", "127.0.0.2", sse.port, 0},
		{"wildcard listener holds every host", "127.0.0.1", wildPort, os.Getpid()},
		{"wildcard listener via bracketed v6", "[::1]", wildPort, os.Getpid()},
		{"nobody", "127.0.0.1", freePort(t), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := process.PortOwner(tt.host, tt.port)
			if err != nil {
				t.Fatal(err)
			}
			if o.PID != tt.wantPID {
				t.Fatalf("PortOwner(%q, %d) = %v, want pid %d", tt.host, tt.port, o, tt.wantPID)
			}
			if tt.wantPID == 0 && o.Cmdline != nil {
				t.Errorf("Cmdline = %q for no owner", o.Cmdline)
			}
		})
	}

	t.Run("cmdline", func(t *testing.T) {
		o, err := process.PortOwner("127.0.0.1", sse.port)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{binSSE, "serve", "--port", "x"}
		if !slices.Equal(o.Cmdline, want) {
			t.Errorf("Cmdline = %q, want %q", o.Cmdline, want)
		}
		if s, w := o.String(), "pid "+strconv.Itoa(sse.pid())+" (valksor-sse serve --port x)"; s != w {
			t.Errorf("String() = %q, want %q", s, w)
		}
		if !process.IsValksorSSE(o.PID) {
			t.Error("IsValksorSSE(owner) = false")
		}
	})

	for _, port := range []int{0, -1, 65536} {
		t.Run("invalid port "+strconv.Itoa(port), func(t *testing.T) {
			if _, err := process.PortOwner("127.0.0.1", port); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestOwnerString(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name  string
		owner process.Owner
		want  string
	}{
		{"zero", process.Owner{}, "no process"},
		{"no cmdline", process.Owner{PID: 7}, "pid 7"},
		{"basename", process.Owner{PID: 4242, Cmdline: []string{"/usr/local/bin/valksor-sse", "serve", "--port", "8080"}}, "pid 4242 (valksor-sse serve --port 8080)"},
		{"quoted args", process.Owner{PID: 1, Cmdline: []string{"php", "bin/console", "a b", ""}}, `pid 1 (php bin/console "a b" "")`},
		{"shortened", process.Owner{PID: 2, Cmdline: []string{"/bin/prog", long}}, "pid 2 (prog " + strings.Repeat("x", 72) + "...)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.owner.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, inUse := net.Listen("tcp", ln.Addr().String())
	_, badAddr := net.Listen("tcp", "256.1.1.1:0")

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"listen on a held port", inUse, true},
		{"bad address", badAddr, false},
		{"nil", nil, false},
		{"other error", errors.New("address already in use"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := process.IsAddrInUse(tt.err); got != tt.want {
				t.Errorf("IsAddrInUse(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
