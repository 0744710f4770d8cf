package process

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// tcpListenState is the kernel's TCP_LISTEN state as printed in /proc/net/tcp.
const tcpListenState = "0A"

// PortOwner finds the process holding a TCP listening socket that conflicts
// with listening on host:port: a listener on the same port whose address is
// one host resolves to, or a wildcard listener (0.0.0.0 or ::). An empty
// host, "0.0.0.0" or "::" matches every listener on the port, as does a host
// name that cannot be resolved. It reads /proc/net/tcp and /proc/net/tcp6 for
// the socket inode and scans /proc/*/fd for it, so only processes whose file
// descriptors are visible to the caller can be found. It returns the zero
// Owner and no error when no visible process holds the port.
func PortOwner(host string, port int) (Owner, error) {
	if port < 1 || port > 65535 {
		return Owner{}, fmt.Errorf("port owner: invalid port %d", port)
	}
	want := hostAddrs(host) // nil = any address
	inodes, err := listeningInodes(uint16(port), want)
	if err != nil {
		return Owner{}, err
	}
	if len(inodes) == 0 {
		return Owner{}, nil
	}
	pid := socketHolder(inodes)
	if pid == 0 {
		return Owner{}, nil
	}
	args, _ := Cmdline(pid) // the owner may exit meanwhile; the pid is still useful
	return Owner{PID: pid, Cmdline: args}, nil
}

// listeningInodes returns the socket inodes of TCP listeners on port whose
// address is in want or is a wildcard; want == nil matches every address.
// Exact address matches come first.
func listeningInodes(port uint16, want []netip.Addr) ([]uint64, error) {
	var exact, wild []uint64
	read := 0
	var firstErr error
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(procDir, "net", name))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		read++
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			addr, p, inode, ok := parseListener(sc.Text())
			if !ok || p != port || inode == 0 {
				continue
			}
			switch {
			case want == nil:
				exact = append(exact, inode)
			case slices.Contains(want, addr):
				exact = append(exact, inode)
			case addr.IsUnspecified():
				wild = append(wild, inode)
			}
		}
		err = sc.Err()
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("port owner: read /proc/net/%s: %w", name, err)
		}
	}
	if read == 0 {
		return nil, fmt.Errorf("port owner: %w", firstErr)
	}
	return append(exact, wild...), nil
}

// parseListener parses one line of /proc/net/tcp or /proc/net/tcp6 and
// reports ok only for sockets in the LISTEN state.
func parseListener(line string) (addr netip.Addr, port uint16, inode uint64, ok bool) {
	f := strings.Fields(line)
	// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
	if len(f) < 10 || f[3] != tcpListenState {
		return netip.Addr{}, 0, 0, false
	}
	hostHex, portHex, found := strings.Cut(f[1], ":")
	if !found {
		return netip.Addr{}, 0, 0, false
	}
	p, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, 0, false
	}
	raw, err := hex.DecodeString(hostHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, 0, false
	}
	// The kernel prints each 32-bit word of the address as a number in host
	// byte order; turn every word back into network byte order.
	for i := 0; i < len(raw); i += 4 {
		w := binary.BigEndian.Uint32(raw[i:])
		binary.NativeEndian.PutUint32(raw[i:], w)
	}
	a, _ := netip.AddrFromSlice(raw)
	n, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return netip.Addr{}, 0, 0, false
	}
	return a.Unmap(), uint16(p), n, true
}

// socketHolder scans /proc/*/fd for a descriptor referring to one of inodes
// (in order of preference) and returns the lowest pid holding the most
// preferred inode found, or 0.
func socketHolder(inodes []uint64) int {
	links := make(map[string]int, len(inodes))
	for i, n := range inodes {
		links["socket:["+strconv.FormatUint(n, 10)+"]"] = i
	}
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return 0
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	best, bestRank := 0, len(inodes)
	for _, pid := range pids {
		fdDir := filepath.Join(procDir, strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or not ours to look at
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			if rank, ok := links[target]; ok && rank < bestRank {
				best, bestRank = pid, rank
				if rank == 0 {
					return best
				}
			}
		}
	}
	return best
}
