// Package metrics exposes a valksor-sse hub to Prometheus: the hub's own
// counters (read from Hub.Stats by a custom collector at every scrape, so
// they cost nothing between scrapes), counters the serving code feeds
// (streams opened by result, publish requests and their latency, requests
// refused by a rate limit), and the standard Go runtime and process
// collectors.
//
// All metric names start with valksor_sse_; docs/production.md in the
// repository lists them with the alerts worth having.
//
// The standalone server (package server) serves them at /metrics. A program
// with its own hub does the same with New and Handler, and feeds the
// request counters from its middleware, as package server's access log
// does:
//
//	m := metrics.New(hub)
//	mux.Handle("GET /metrics", m.Handler())
//	// in the middleware around the hub:
//	m.StreamOpened(metrics.ResultOK)         // a stream opened (or ResultRefused, ResultLimited)
//	m.ObservePublish(status, time.Since(t0)) // a publish request answered
//
// Each Metrics has a registry of its own, so two hubs in one process do not
// collide.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sse "github.com/valksor/go-sse"
)

// Results of a stream request, the label of valksor_sse_streams_opened_total.
const (
	// ResultOK is a stream that opened.
	ResultOK = "ok"
	// ResultRefused is a stream refused by the hub: bad request, missing or
	// bad credentials, the connection cap, shutdown.
	ResultRefused = "refused"
	// ResultLimited is a stream refused by a rate limit (429).
	ResultLimited = "limited"
)

// Source is what the collector reads at every scrape; *sse.Hub is one.
type Source interface {
	Stats() sse.Stats
}

// healthChecker is implemented by sources that can tell whether their
// transport publishes; the transport gauge is exported only for them.
type healthChecker interface {
	Health(ctx context.Context) sse.Health
}

// historyLener is implemented by sources that can count the events in
// their history; the history gauge is exported only for them.
type historyLener interface {
	HistoryLen(ctx context.Context) (int, bool)
}

// Metrics holds the collectors of one hub and the registry they live in.
type Metrics struct {
	reg             *prometheus.Registry
	streamsOpened   *prometheus.CounterVec
	publishRequests *prometheus.CounterVec
	publishDuration prometheus.Histogram
	limited         *prometheus.CounterVec
}

// New registers the collectors for src, plus the Go runtime and process
// collectors, in a new registry.
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		streamsOpened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valksor_sse_streams_opened_total",
			Help: "Stream requests by result: ok (opened), refused (by the hub: credentials, bad request, connection cap, shutdown) or limited (429 from a rate limit).",
		}, []string{"result"}),
		publishRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valksor_sse_publish_requests_total",
			Help: "Publish requests over HTTP by status code.",
		}, []string{"code"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "valksor_sse_publish_duration_seconds",
			Help:    "Time to answer a publish request over HTTP: authentication, decoding and storing the event in the transport.",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16), // 0.25 ms to about 8 s
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valksor_sse_rate_limited_total",
			Help: "Requests answered 429 by limit: streams_per_second, streams_per_ip or publishes_per_second.",
		}, []string{"limit"}),
	}
	for _, r := range []string{ResultOK, ResultRefused, ResultLimited} {
		m.streamsOpened.WithLabelValues(r)
	}
	m.reg.MustRegister(
		&hubCollector{src: src},
		m.streamsOpened,
		m.publishRequests,
		m.publishDuration,
		m.limited,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, to add collectors of one's own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or negotiated) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// StreamOpened counts a stream request with its result (ResultOK,
// ResultRefused or ResultLimited).
func (m *Metrics) StreamOpened(result string) { m.streamsOpened.WithLabelValues(result).Inc() }

// Limited counts a request refused by the rate limit named limit.
func (m *Metrics) Limited(limit string) { m.limited.WithLabelValues(limit).Inc() }

// ObservePublish records a publish request answered with status after d.
func (m *Metrics) ObservePublish(status int, d time.Duration) {
	m.publishRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	m.publishDuration.Observe(d.Seconds())
}

// GaugeFunc registers a gauge whose value fn returns at every scrape.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// hubCollector turns Source.Stats into metrics at scrape time.
type hubCollector struct{ src Source }

var (
	descOpen      = prometheus.NewDesc("valksor_sse_streams_open", "Streams open now.", nil, nil)
	descMax       = prometheus.NewDesc("valksor_sse_streams_max", "The connection cap (max_connections); 0 means none.", nil, nil)
	descPublished = prometheus.NewDesc("valksor_sse_events_published_total", "Events accepted by Broadcast and the publish endpoint.", nil, nil)
	descDelivered = prometheus.NewDesc("valksor_sse_deliveries_total", "Events queued to streams: one per stream per event.", nil, nil)
	descSlow      = prometheus.NewDesc("valksor_sse_slow_consumer_disconnects_total", "Streams dropped because their queue was full (the client did not keep up).", nil, nil)
	descTakenOver = prometheus.NewDesc("valksor_sse_tls_streams_taken_over_total", "TLS streams whose records the hub wrote itself, without crypto/tls's per-connection buffers (TLS 1.3 with AES-GCM, served through sse.TLSConfig).", nil, nil)
	descUptime    = prometheus.NewDesc("valksor_sse_uptime_seconds", "Time since the hub started.", nil, nil)
	descHistory   = prometheus.NewDesc("valksor_sse_history_events", "Events kept in the history for resuming clients.", nil, nil)
	descUp        = prometheus.NewDesc("valksor_sse_transport_up", "1 while the transport (Redis) publishes, 0 while it cannot: alert on 0. The error is in the log.", nil, nil)
)

// Describe sends the descriptions of the hub's metrics.
func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descMax, descPublished, descDelivered, descSlow, descTakenOver, descUptime} {
		ch <- d
	}
	if _, ok := c.src.(historyLener); ok {
		ch <- descHistory
	}
	if _, ok := c.src.(healthChecker); ok {
		ch <- descUp
	}
}

// Collect reads the hub's stats once and sends them.
func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Connections))
	ch <- prometheus.MustNewConstMetric(descMax, prometheus.GaugeValue, float64(st.MaxConnections))
	ch <- prometheus.MustNewConstMetric(descPublished, prometheus.CounterValue, float64(st.Published))
	ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(st.Delivered))
	ch <- prometheus.MustNewConstMetric(descSlow, prometheus.CounterValue, float64(st.SlowDisconnects))
	ch <- prometheus.MustNewConstMetric(descTakenOver, prometheus.CounterValue, float64(st.TLSTakenOver))
	ch <- prometheus.MustNewConstMetric(descUptime, prometheus.GaugeValue, st.Uptime.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if h, ok := c.src.(historyLener); ok {
		if n, ok := h.HistoryLen(ctx); ok {
			ch <- prometheus.MustNewConstMetric(descHistory, prometheus.GaugeValue, float64(n))
		}
	}
	if h, ok := c.src.(healthChecker); ok {
		up := 1.0
		if h.Health(ctx).Status == sse.HealthDegraded {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	}
}
