package process

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Owner identifies the process holding a listening socket.
type Owner struct {
	// PID is the owning process, or 0 when no visible process holds the socket.
	PID int
	// Cmdline is the owner's argument vector; it may be empty when it could
	// not be read.
	Cmdline []string
}

// maxOwnerString bounds the length of Owner.String's command part.
const maxOwnerString = 80

// String describes the owner for humans, e.g.
// `pid 4242 (valksor-sse serve --port 8080)`: the executable's basename and
// its arguments, shortened to about 80 characters. The zero Owner is
// "no process".
func (o Owner) String() string {
	if o.PID == 0 {
		return "no process"
	}
	if len(o.Cmdline) == 0 {
		return "pid " + strconv.Itoa(o.PID)
	}
	parts := make([]string, 0, len(o.Cmdline))
	exe := filepath.Base(o.Cmdline[0])
	if o.Cmdline[0] == "" {
		exe = `""`
	}
	parts = append(parts, exe)
	for _, a := range o.Cmdline[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n\"'") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	cmd := strings.Join(parts, " ")
	if utf8.RuneCountInString(cmd) > maxOwnerString {
		r := []rune(cmd)
		cmd = string(r[:maxOwnerString-3]) + "..."
	}
	return fmt.Sprintf("pid %d (%s)", o.PID, cmd)
}

// hostAddrs resolves host to the addresses a listener may hold. It returns
// nil when any address on the port conflicts.
func hostAddrs(host string) []netip.Addr {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.IsUnspecified() {
			return nil
		}
		return []netip.Addr{a}
	}
	if strings.EqualFold(host, "localhost") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return nil
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// IsAddrInUse reports whether err, typically from net.Listen, says that
// another socket already holds the address (EADDRINUSE, or WSAEADDRINUSE on
// Windows).
func IsAddrInUse(err error) bool {
	return errors.Is(err, errAddrInUse)
}
