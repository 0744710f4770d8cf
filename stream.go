package sse

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/valksor/go-sse/internal/wire"
)

// maxBatch is how many bytes of queued frames one write may carry.
const maxBatch = 64 << 10

// ServeHTTP serves the event stream (GET or HEAD).
//
// Query parameters: topic (repeatable; none means DefaultTopic) and
// lastEventID (the Last-Event-ID header wins when both are present). The
// stream starts with a connected event carrying the connection id and the
// retry hint, then any missed events, then live events and heartbeats.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "the event stream answers GET and HEAD; publish with POST "+h.opts.basePath+"/publish", http.StatusMethodNotAllowed)
		return
	}
	topics, lastID, err := h.parseStreamRequest(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if h.closed() {
		writeError(w, ErrHubClosed)
		return
	}
	if r.Method == http.MethodHead {
		h.streamHeaders(w, r)
		w.WriteHeader(http.StatusOK)
		return
	}
	if !h.acquire() {
		writeError(w, fmt.Errorf("%w: the server holds its limit of %d streams; retry later or raise max_connections", ErrTooManyConnections, h.opts.maxConnections))
		return
	}
	defer h.release()

	s := &subscriber{
		id:      newConnID(),
		topics:  topics,
		queue:   make(chan *frame, h.opts.queueSize),
		kicked:  make(chan struct{}),
		remote:  r.RemoteAddr,
		started: time.Now(),
	}
	if err := h.add(s); err != nil {
		writeError(w, err)
		return
	}
	defer h.remove(s)

	var hist History
	if lastID != "" {
		hist, err = h.transport.History(r.Context(), lastID)
		if err != nil && r.Context().Err() != nil {
			return // the client went away
		}
		if err != nil {
			writeError(w, fmt.Errorf("sse: read history after %q: %w", lastID, err))
			return
		}
	}
	gap := lastID != "" && !hist.Complete
	h.streamHeaders(w, r)
	if gap {
		w.Header().Set("X-Valksor-History-Gap", "true")
	}
	w.WriteHeader(http.StatusOK)

	info := ConnInfo{ID: s.id, Topics: topics, RemoteAddr: r.RemoteAddr, Request: r}
	if h.opts.onConnect != nil {
		h.opts.onConnect(info)
	}
	h.log.Debug("stream opened", "conn", s.id, "remote", r.RemoteAddr, "topics", topics, "last_event_id", lastID, "replay", len(hist.Messages), "gap", gap)
	reason := h.stream(w, r, s, lastID, hist, gap)
	h.log.Debug("stream closed", "conn", s.id, "remote", r.RemoteAddr, "reason", reasonText(reason), "age", time.Since(s.started).Round(time.Millisecond))
	if h.opts.onDisconnect != nil {
		h.opts.onDisconnect(info, reason)
	}
}

// Reasons a stream ends, reported to the disconnect hook.
var (
	errSlowConsumer  = errors.New("sse: stream dropped: the client did not keep up")
	errStreamTimeout = errors.New("sse: stream reached its maximum lifetime")
	errShutdown      = errors.New("sse: hub shutting down")
)

func reasonText(err error) string {
	if err == nil {
		return "client went away"
	}
	return err.Error()
}

// stream writes the opening events, the replay and then live frames until
// the client goes, the stream times out, falls behind, or the hub shuts down.
func (h *Hub) stream(w http.ResponseWriter, r *http.Request, s *subscriber, lastID string, hist History, gap bool) error {
	rc := http.NewResponseController(w)
	write := func(b []byte) error {
		if h.opts.writeTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(h.opts.writeTimeout))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}

	buf := make([]byte, 0, 512)
	buf, _ = wire.AppendEvent(buf, wire.Event{Type: TypeConnected, Data: `{"id":"` + s.id + `"}`, Retry: h.opts.retry})
	if gap {
		d, _ := encodeData(map[string]string{"last_event_id": lastID})
		buf, _ = wire.AppendEvent(buf, wire.Event{Type: TypeHistoryGap, Data: d})
	}
	var last Cursor
	for _, m := range hist.Messages {
		if last.Compare(m.Cursor) < 0 {
			last = m.Cursor
		}
		if !matches(s.topics, m.Topics) {
			continue
		}
		var err error
		buf, err = wire.AppendEvent(buf, wire.Event{ID: m.ID, Type: m.Type, Data: m.Data, Retry: m.Retry})
		if err != nil {
			h.log.Error("skipping history message that cannot be encoded", "id", m.ID, "err", err)
		}
	}
	if err := write(buf); err != nil {
		return err
	}

	var timeout <-chan time.Time
	if h.opts.streamTimeout > 0 {
		t := time.NewTimer(h.opts.streamTimeout)
		defer t.Stop()
		timeout = t.C
	}
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kicked:
			h.slow.Add(1)
			return errSlowConsumer
		case <-timeout:
			return errStreamTimeout
		case <-h.done:
			_ = write(wire.AppendRetry(buf[:0], ShutdownRetry))
			return errShutdown
		case f := <-s.queue:
			buf = buf[:0]
			for {
				if f.cursor.IsZero() || last.Compare(f.cursor) < 0 {
					buf = append(buf, f.b...)
				}
				if len(buf) >= maxBatch {
					break
				}
				select {
				case f = <-s.queue:
					continue
				default:
				}
				break
			}
			if len(buf) == 0 {
				continue
			}
			if err := write(buf); err != nil {
				return err
			}
		}
	}
}

// matches reports whether a message for topics reaches a stream listening to
// subscribed.
func matches(subscribed, topics []string) bool {
	for _, t := range topics {
		for _, s := range subscribed {
			if s == t {
				return true
			}
		}
	}
	return false
}

// streamHeaders sets the headers of an event stream.
func (h *Hub) streamHeaders(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	for k, v := range h.opts.headers {
		hd[k] = v
	}
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		hd.Set("Connection", "keep-alive")
	}
}

// parseStreamRequest reads the topics and the resume id of a stream request.
func (h *Hub) parseStreamRequest(r *http.Request) ([]string, string, error) {
	q := r.URL.Query()
	topics := q["topic"]
	if len(topics) == 0 {
		topics = []string{DefaultTopic}
	} else {
		topics = dedupe(topics)
		for _, t := range topics {
			if err := h.checkTopic(t); err != nil {
				return nil, "", err
			}
		}
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = q.Get("lastEventID")
	}
	if lastID == "" {
		lastID = q.Get("last_event_id")
	}
	if lastID != "" {
		if len(lastID) > maxIDLen || wire.ValidField(lastID) != nil || !utf8.ValidString(lastID) {
			return nil, "", fmt.Errorf("%w: %.40q is not an event id this server could have sent (over %d bytes, a line break, NUL or invalid UTF-8); reconnect without it to start from now", ErrInvalidLastEventID, lastID, maxIDLen)
		}
	}
	return topics, lastID, nil
}
