//go:build unix

package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/server"
)

// TestSignalFileThatIsNotAFile: a FIFO at the signal file's path is
// removed with a warning, without reloading and without blocking the
// watcher or the shutdown; an oversized file still reloads, without
// being read.
func TestSignalFileThatIsNotAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "reload.signal")
	log := &logBuffer{}
	s, base := open(t, server.Options{SignalFile: file, Logger: slog.New(slog.NewTextHandler(log, nil))})
	events := subscribe(t, base+"/sse", http.DefaultClient)
	if err := syscall.Mkfifo(file, 0o644); err != nil {
		t.Fatal(err)
	}
	proctest.Await(t, 10*time.Second, "the FIFO to be removed with a warning", func() bool {
		_, err := os.Lstat(file)
		return os.IsNotExist(err) && strings.Contains(log.String(), "not a regular file")
	})
	// Still watching: a signal written after it is honoured.
	big := `{"files":["` + strings.Repeat("x", 70<<10) + `"]}`
	if err := os.WriteFile(file, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := expect(t, events, sse.TypeReload); e.Data != `{"files":[]}` {
		t.Fatalf("reload for an oversized signal file: %q", e.Data)
	}
	// A FIFO left in place does not hold up the shutdown.
	if err := syscall.Mkfifo(file, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a FIFO at the signal file: %v", err)
	}
}
