package main

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// newLogger returns the server's logger, log_format (text or JSON) at
// debug level when debug is on, and the function that releases what it
// holds: until then, records are held, so that the line saying where the
// server listens is the first a person reads. release may be called more
// than once; call it on every path (what was held is written then).
func newLogger(w io.Writer, cfg config.Config) (logger *slog.Logger, release func()) {
	o := &slog.HandlerOptions{Level: slog.LevelInfo}
	if cfg.Server.Debug {
		o.Level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(w, o)
	if cfg.Server.LogFormat == "json" {
		h = slog.NewJSONHandler(w, o)
	}
	held := &heldLogs{inner: h, state: &holdState{}}
	return slog.New(held), held.state.release
}

// heldLogs is a slog.Handler that holds records until released.
type heldLogs struct {
	inner slog.Handler
	state *holdState
}

// holdState is what the handlers derived from one heldLogs share.
type holdState struct {
	mu       sync.Mutex
	released bool
	held     []heldRecord
}

// heldRecord is a record and the handler that writes it.
type heldRecord struct {
	h slog.Handler
	r slog.Record
}

// Enabled reports whether the underlying handler handles level.
func (h *heldLogs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle holds r until released, or writes it.
func (h *heldLogs) Handle(ctx context.Context, r slog.Record) error {
	s := h.state
	s.mu.Lock()
	if !s.released {
		s.held = append(s.held, heldRecord{h.inner, r.Clone()})
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a handler that holds records with attrs.
func (h *heldLogs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &heldLogs{inner: h.inner.WithAttrs(attrs), state: h.state}
}

// WithGroup returns a handler that holds records in group name.
func (h *heldLogs) WithGroup(name string) slog.Handler {
	return &heldLogs{inner: h.inner.WithGroup(name), state: h.state}
}

// release writes the held records, in order, and lets later ones through.
func (s *holdState) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return
	}
	s.released = true
	for _, hr := range s.held {
		_ = hr.h.Handle(context.Background(), hr.r)
	}
	s.held = nil
}
