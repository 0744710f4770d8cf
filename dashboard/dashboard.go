package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	sse "github.com/valksor/go-sse"
)

// Topic is the hub topic the dashboard publishes on and its page listens to.
const Topic = "$dashboard"

// Event types the dashboard publishes on Topic.
const (
	// TypeStats carries the numbers, once a second.
	TypeStats = "dashboard-stats"
	// TypeTail carries the events delivered since the previous tail event.
	TypeTail = "dashboard-tail"
)

// Defaults of Options.
const (
	DefaultStatsInterval = time.Second
	DefaultTailInterval  = 250 * time.Millisecond
	DefaultTailBatch     = 50
	// DefaultPathSuffix is appended to the hub's base path when
	// Options.Path is empty.
	DefaultPathSuffix = "/_dashboard"
)

const (
	historySamples = 300 // five minutes of one-second samples
	recentEvents   = 50  // tail entries the page starts with
	maxClients     = 200 // clients listed in one stats event
	previewBytes   = 300 // data shown per tail entry
)

// Hub is what the dashboard needs of a hub; *sse.Hub implements it.
type Hub interface {
	Stats() sse.Stats
	Clients() []sse.ClientInfo
	TopicCounts() map[string]int
	Health(ctx context.Context) sse.Health
	Publish(ctx context.Context, e sse.Event) (string, error)
	BasePath() string
}

var _ Hub = (*sse.Hub)(nil)

// Options configure a Dashboard. The zero value is usable.
type Options struct {
	// Path is where the page is served, such as "/sse/_dashboard"; its
	// script and stylesheet are served below it. Empty: the hub's base path
	// followed by DefaultPathSuffix.
	Path string
	// StatsInterval is how often the numbers are published (default 1s).
	StatsInterval time.Duration
	// TailInterval is how often the delivered events are published, at
	// most (default 250ms).
	TailInterval time.Duration
	// TailBatch caps the events in one tail event (default 50); the rest
	// are counted as skipped.
	TailBatch int
	// Private publishes the dashboard's events as private events, which
	// only streams granted Topic by the hub's Authorizer receive.
	Private bool
	// TokenRequired tells the page that its publish form needs a publish
	// token (the hub has a token and no anonymous publishing).
	TokenRequired bool
	// Logger receives publish failures; nil means slog.Default().
	Logger *slog.Logger
}

// Dashboard collects what the hub delivers and publishes it to its page.
// Create it with New, pass Observe to sse.WithOnDeliver, Attach the hub, then
// Start it; Close stops it. It is safe for concurrent use.
type Dashboard struct {
	opts Options
	node string
	log  *slog.Logger

	events     atomic.Uint64 // messages delivered, Topic excluded
	deliveries atomic.Uint64 // frames queued for streams, Topic excluded

	tmu     sync.Mutex
	pending []Entry // for the next tail event
	skipped int     // entries not in pending since the last tail event
	recent  []Entry // ring of the last recentEvents entries
	rnext   int     // next slot of recent
	rfull   bool

	mu      sync.Mutex
	hub     Hub
	path    string
	samples []Sample // the last historySamples, oldest first
	cancel  context.CancelFunc
	done    chan struct{}
}

// Entry is one delivered event in the tail.
type Entry struct {
	// T is when the hub delivered it, in Unix milliseconds.
	T int64 `json:"t"`
	// ID is the event id.
	ID string `json:"id"`
	// Type is the event type ("message" when the publisher gave none).
	Type string `json:"type"`
	// Topics are the event's topics.
	Topics []string `json:"topics"`
	// Size is the size of the encoded frame in bytes.
	Size int `json:"size"`
	// Fanout is how many streams of this server it was queued for.
	Fanout int `json:"fanout"`
	// Data is the start of the data (empty for private events).
	Data string `json:"data"`
	// Truncated reports that Data is cut short.
	Truncated bool `json:"truncated,omitempty"`
	// Private marks a private event, whose data is not shown.
	Private bool `json:"private,omitempty"`
}

// Sample is one point of the chart.
type Sample struct {
	// T is the time of the sample in Unix milliseconds.
	T int64 `json:"t"`
	// In is events delivered per second since the previous sample.
	In float64 `json:"in"`
	// Out is frames queued for streams per second since the previous sample.
	Out float64 `json:"out"`
	// Streams is the number of open streams, dashboard viewers excluded.
	Streams int `json:"streams"`
}

// Client is one open stream in a stats event.
type Client struct {
	ID     string   `json:"id"`
	Topics []string `json:"topics"`
	Remote string   `json:"remote"`
	// Since is when the stream opened, in Unix milliseconds.
	Since  int64 `json:"since"`
	Queued int   `json:"queued"`
}

// Stats is the data of a TypeStats event.
type Stats struct {
	Node string `json:"node"`
	// T is the time of the snapshot in Unix milliseconds.
	T      int64   `json:"t"`
	Uptime float64 `json:"uptime"`
	// Streams counts open streams that do not listen to Topic; Viewers
	// those that do.
	Streams int `json:"streams"`
	Viewers int `json:"viewers"`
	// Max is the configured cap of streams, 0 for none.
	Max int `json:"max"`
	// Topics maps each topic (Topic excluded) to its streams.
	Topics map[string]int `json:"topics"`
	// In and Out are the latest per-second rates (Sample).
	In  float64 `json:"in"`
	Out float64 `json:"out"`
	// Events and Deliveries are totals since the dashboard was created.
	Events     uint64 `json:"events"`
	Deliveries uint64 `json:"deliveries"`
	// Slow counts streams dropped because they did not keep up.
	Slow uint64 `json:"slow"`
	// Memory of the process: resident set size (0 when unknown), Go heap
	// objects and goroutines.
	RSS        uint64 `json:"rss"`
	Heap       uint64 `json:"heap"`
	Goroutines int    `json:"goroutines"`
	// Health is the hub's health status, Transport its transport and
	// TransportError why it is degraded.
	Health         string `json:"health"`
	Transport      string `json:"transport"`
	TransportError string `json:"transportError,omitempty"`
	// Clients lists up to 200 streams, oldest first; ClientsTotal counts
	// them all.
	Clients      []Client `json:"clients"`
	ClientsTotal int      `json:"clientsTotal"`
	// Sample is the latest chart point.
	Sample *Sample `json:"sample,omitempty"`
}

// tailEvent is the data of a TypeTail event.
type tailEvent struct {
	Node    string  `json:"node"`
	Entries []Entry `json:"entries"`
	Skipped int     `json:"skipped"`
}

// New creates a dashboard. Pass its Observe method to sse.WithOnDeliver.
func New(opts Options) *Dashboard {
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = DefaultStatsInterval
	}
	if opts.TailInterval <= 0 {
		opts.TailInterval = DefaultTailInterval
	}
	if opts.TailInterval > opts.StatsInterval {
		opts.TailInterval = opts.StatsInterval
	}
	if opts.TailBatch <= 0 {
		opts.TailBatch = DefaultTailBatch
	}
	d := &Dashboard{
		opts:   opts,
		node:   newNodeID(),
		log:    opts.Logger,
		recent: make([]Entry, recentEvents),
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

func newNodeID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Observe records one delivery. It is the hook for sse.WithOnDeliver: it
// runs on the hub's delivering goroutine, takes no time to speak of and
// never blocks on the dashboard's publishing. Messages on Topic are ignored.
func (d *Dashboard) Observe(dl sse.Delivery) {
	m := dl.Message
	if m == nil || slices.Contains(m.Topics, Topic) {
		return
	}
	d.events.Add(1)
	d.deliveries.Add(uint64(max(dl.Receivers, 0)))
	e := Entry{
		T:       time.Now().UnixMilli(),
		ID:      m.ID,
		Type:    m.Type,
		Topics:  m.Topics,
		Size:    dl.Bytes,
		Fanout:  dl.Receivers,
		Private: m.Private,
	}
	if e.Type == "" {
		e.Type = "message"
	}
	if !m.Private {
		e.Data, e.Truncated = preview(m.Data)
	}
	d.tmu.Lock()
	if len(d.pending) < d.opts.TailBatch {
		d.pending = append(d.pending, e)
	} else {
		d.skipped++
	}
	d.recent[d.rnext] = e
	d.rnext = (d.rnext + 1) % len(d.recent)
	d.rfull = d.rfull || d.rnext == 0
	d.tmu.Unlock()
}

// preview returns the start of s, cut on a rune boundary.
func preview(s string) (string, bool) {
	if len(s) <= previewBytes {
		return s, false
	}
	cut := previewBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}

// Attach sets the hub the dashboard reads and publishes to. Call it once,
// before Start and before the page is served.
func (d *Dashboard) Attach(h Hub) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hub = h
	d.path = d.opts.Path
	if d.path == "" {
		base := h.BasePath()
		if base == "/" {
			base = ""
		}
		d.path = base + DefaultPathSuffix
	}
	d.path = "/" + strings.Trim(d.path, "/")
}

// Path returns the path the page is served at ("" before Attach).
func (d *Dashboard) Path() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.path
}

// Node returns the id that the dashboard's events carry to tell servers
// sharing a transport apart.
func (d *Dashboard) Node() string { return d.node }

// Start starts the goroutine that samples the hub and publishes to Topic.
// It runs until ctx ends or Close is called. It fails without a hub
// (Attach) or when already started.
func (d *Dashboard) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hub == nil {
		return errors.New("dashboard: Start before Attach: attach the hub first")
	}
	if d.done != nil {
		return errors.New("dashboard: already started")
	}
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go d.run(ctx, d.hub, d.done)
	return nil
}

// Close stops the goroutine started by Start and waits for it. It may be
// called more than once, and without Start.
func (d *Dashboard) Close() error {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// run samples the hub every StatsInterval and flushes the tail every
// TailInterval, publishing while the topic has listeners.
func (d *Dashboard) run(ctx context.Context, h Hub, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(d.opts.TailInterval)
	defer tick.Stop()
	last := time.Now()
	lastEvents, lastDeliveries := d.events.Load(), d.deliveries.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		viewers := h.TopicCounts()[Topic]
		if entries, skipped := d.takeTail(); viewers > 0 && (len(entries) > 0 || skipped > 0) {
			d.publish(ctx, h, TypeTail, tailEvent{Node: d.node, Entries: entries, Skipped: skipped})
		}
		if elapsed := now.Sub(last); elapsed >= d.opts.StatsInterval-d.opts.TailInterval/2 {
			ev, dl := d.events.Load(), d.deliveries.Load()
			secs := elapsed.Seconds()
			s := Sample{
				T:       now.UnixMilli(),
				In:      round1(float64(ev-lastEvents) / secs),
				Out:     round1(float64(dl-lastDeliveries) / secs),
				Streams: max(h.Stats().Connections-viewers, 0),
			}
			last, lastEvents, lastDeliveries = now, ev, dl
			d.addSample(s)
			if viewers > 0 {
				d.publish(ctx, h, TypeStats, d.snapshot(ctx, h))
			}
		}
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// publish sends one dashboard event; failures are logged at debug level
// (the hub may be shutting down, or the transport away).
func (d *Dashboard) publish(ctx context.Context, h Hub, typ string, data any) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := h.Publish(ctx, sse.Event{Type: typ, Data: data, Topics: []string{Topic}, Private: d.opts.Private})
	if err != nil && ctx.Err() == nil {
		d.log.Debug("dashboard: publish failed", "type", typ, "err", err)
	}
}

// takeTail returns and clears the entries for the next tail event.
func (d *Dashboard) takeTail() ([]Entry, int) {
	d.tmu.Lock()
	defer d.tmu.Unlock()
	entries, skipped := d.pending, d.skipped
	d.pending, d.skipped = nil, 0
	return entries, skipped
}

// recentTail returns the last recent entries, oldest first.
func (d *Dashboard) recentTail() []Entry {
	d.tmu.Lock()
	defer d.tmu.Unlock()
	if !d.rfull {
		return append([]Entry{}, d.recent[:d.rnext]...)
	}
	return append(append([]Entry{}, d.recent[d.rnext:]...), d.recent[:d.rnext]...)
}

func (d *Dashboard) addSample(s Sample) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.samples) == historySamples {
		copy(d.samples, d.samples[1:])
		d.samples = d.samples[:historySamples-1]
	}
	d.samples = append(d.samples, s)
}

// history returns the chart samples, oldest first, and the latest one.
func (d *Dashboard) history() ([]Sample, *Sample) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]Sample{}, d.samples...)
	if len(out) == 0 {
		return out, nil
	}
	latest := out[len(out)-1]
	return out, &latest
}

// snapshot reads everything the stats event carries.
func (d *Dashboard) snapshot(ctx context.Context, h Hub) Stats {
	st := h.Stats()
	counts := h.TopicCounts()
	viewers := counts[Topic]
	delete(counts, Topic)
	hctx, cancel := context.WithTimeout(ctx, time.Second)
	health := h.Health(hctx)
	cancel()
	out := Stats{
		Node:           d.node,
		T:              time.Now().UnixMilli(),
		Uptime:         st.Uptime.Seconds(),
		Streams:        max(st.Connections-viewers, 0),
		Viewers:        viewers,
		Max:            st.MaxConnections,
		Topics:         counts,
		Events:         d.events.Load(),
		Deliveries:     d.deliveries.Load(),
		Slow:           st.SlowDisconnects,
		Health:         health.Status,
		Transport:      health.Transport,
		TransportError: health.TransportError,
		Clients:        []Client{},
	}
	out.RSS, out.Heap, out.Goroutines = memory()
	_, out.Sample = d.history()
	if out.Sample != nil {
		out.In, out.Out = out.Sample.In, out.Sample.Out
	}
	infos := h.Clients()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Since.Before(infos[j].Since) })
	for _, c := range infos {
		if slices.Contains(c.Topics, Topic) {
			continue
		}
		out.ClientsTotal++
		if len(out.Clients) < maxClients {
			out.Clients = append(out.Clients, Client{ID: c.ID, Topics: c.Topics, Remote: c.RemoteAddr, Since: c.Since.UnixMilli(), Queued: c.Queued})
		}
	}
	return out
}
