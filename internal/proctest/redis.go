package proctest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server process of a test, on a port of its own,
// with append-only persistence (fsync on every write) so that what it
// acknowledged survives a stop and a start.
type RedisServer struct {
	// Port is the TCP port it listens on, on 127.0.0.1.
	Port int

	t      testing.TB
	bin    string
	dir    string
	proc   *os.Process // nil while stopped
	exited chan error
	log    *Buffer
}

// redisWait bounds how long a start or stop may take.
const redisWait = 20 * time.Second

// StartRedis starts redis-server on a free port and stops it when the test
// ends. Without redis-server it skips the test, or fails it under CI=true
// (the test command installs one).
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &RedisServer{Port: port, t: t, bin: bin, dir: t.TempDir(), log: &Buffer{}}
	s.Start()
	t.Cleanup(func() {
		if s.proc != nil {
			_ = s.proc.Kill()
			<-s.exited
		}
	})
	return s
}

// URL is the server's redis:// URL, database 0.
func (s *RedisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Start runs the server on its port and data directory, and waits until
// it accepts connections.
func (s *RedisServer) Start() {
	s.t.Helper()
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--dir", s.dir)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	mark := len(s.log.String())
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited, gone := make(chan error, 1), make(chan struct{})
	go func() { exited <- cmd.Wait(); close(gone) }()
	err := Poll(redisWait, gone, func() bool {
		return strings.Contains(s.log.String()[mark:], "Ready to accept connections")
	})
	if err != nil {
		_ = cmd.Process.Kill()
		s.t.Fatalf("redis-server did not start (%v, exit %v):\n%s", err, <-exited, s.log)
	}
	s.proc, s.exited = cmd.Process, exited
}

// Stop sends SIGTERM and waits for the server to exit.
func (s *RedisServer) Stop() {
	s.t.Helper()
	if err := s.proc.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(redisWait):
		s.t.Fatal("redis-server did not exit after SIGTERM")
	}
	s.proc = nil
}
