package bench

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Defaults applied by Run to the zero fields of a Config.
const (
	// DefaultEventType is the event type whose deliveries are counted.
	DefaultEventType = "bench"
	// DefaultConcurrency is how many streams connect at the same time.
	DefaultConcurrency = 64
	// DefaultConnectTimeout bounds connecting one stream, from dialing to
	// the end of the response headers.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultSettleTime is the wait between connecting and publishing.
	DefaultSettleTime = 250 * time.Millisecond
	// DefaultTimeout is how long Run waits for deliveries after the last
	// publish.
	DefaultTimeout = 10 * time.Second
	// DefaultPublishTimeout bounds one publish request.
	DefaultPublishTimeout = 30 * time.Second
)

// maxRecorded bounds Streams×Publishes: every delivery's latency is kept
// (8 bytes each) until the end of the run.
const maxRecorded = 200_000_000

// Config describes one benchmark scenario. StreamURL, PublishURL and Streams
// are required; the zero value of every other field means its default.
type Config struct {
	// Name labels the server in reports (for example "floor" or
	// "valksor-sse"). Optional.
	Name string
	// StreamURL is the URL of the event stream, for example
	// "http://127.0.0.1:8080/sse?topic=bench". http and https are
	// supported. Its first topic parameter goes into the default publish
	// body.
	StreamURL string
	// PublishURL is where events are POSTed, for example
	// "http://127.0.0.1:8080/sse/publish".
	PublishURL string
	// PublishToken, when set, is sent as "Authorization: Bearer <token>" with
	// every publish.
	PublishToken string
	// PublishBody builds the body of publish number seq (0-based), sent at
	// sentAt. The server must turn it into an event of type EventType whose
	// data holds seq and sentAt.UnixNano() as the first two decimal integers
	// (text around them is ignored, so quotes or a JSON wrapper do no harm).
	// nil means DefaultPublishBody for the topic of StreamURL, which suits
	// valksor-sse and the floor server.
	PublishBody func(seq int, sentAt time.Time) (contentType string, body []byte)
	// EventType is the type of the benchmark's events (the "event:" field;
	// "message" for events without one). Default "bench". Other events, such
	// as valksor-sse's connected event, are read and ignored.
	EventType string
	// Streams is how many streams to open.
	Streams int
	// Publishes is how many events to publish. 0 only connects (and
	// measures memory).
	Publishes int
	// Gap is the time from the start of one publish to the start of the
	// next; 0 publishes back to back (each after the previous answer).
	Gap time.Duration
	// Concurrency is how many streams connect at the same time (default 64).
	Concurrency int
	// ConnectTimeout bounds connecting one stream, from the dial to the end
	// of the response headers (default 10s).
	ConnectTimeout time.Duration
	// SourceAddrs spreads the streams' client sockets over the source
	// addresses 127.0.0.1 to 127.0.0.254, so that the ephemeral port range
	// (about 28,000 ports per source address) does not limit the number of
	// streams. The stream host must then be an IPv4 loopback address.
	SourceAddrs bool
	// ServerPID, when positive, is the server's process id: its resident
	// memory (VmRSS in /proc/<pid>/status, Linux only) is read before
	// connecting and after SettleTime, giving the memory per idle stream.
	ServerPID int
	// Progress, when set, receives a progress line while the streams
	// connect ("connected 4200/10000 (3100/s)"): rewritten in place with a
	// carriage return when Progress is a terminal, otherwise one line about
	// every 10%.
	Progress io.Writer
	// SettleTime is the wait after the streams have connected, before the
	// memory reading and the first publish (default 250ms; negative means
	// no wait).
	SettleTime time.Duration
	// Timeout is how long to wait for deliveries after the last publish
	// was answered (default 10s). Deliveries still missing then are lost.
	Timeout time.Duration
	// PublishTimeout bounds one publish request (default 30s).
	PublishTimeout time.Duration
	// Slow is how many extra streams connect and then never read: they show
	// whether one stalled client slows the others (compare the latencies
	// with and without) and whether the server drops it (Report.SlowDropped).
	// Publish enough data to fill the socket buffers (Padding).
	Slow int
	// Padding adds this many bytes to the data of each default publish
	// body (at most 3000, so a data line stays under the reader's 4 KB).
	Padding int
	// ResetURL, when set, is POSTed before the streams connect: the floor
	// server closes the streams of earlier runs there (Floor.ResetURL),
	// which it would otherwise hold until a write to them failed.
	ResetURL string
	// TLSConfig is used for https stream and publish URLs; nil means the
	// default configuration. Before the streams connect, one TLS handshake
	// checks it: a certificate it does not trust fails the run at once with
	// an error that wraps ErrUntrustedCertificate.
	TLSConfig *tls.Config
	// H2 opens the streams as HTTP/2 streams over TLS, multiplexed over a
	// few connections (H2StreamsPerConn each), the way browsers do. It needs
	// an https StreamURL and a server that negotiates "h2" (ALPN); Slow is
	// not supported with it.
	H2 bool
	// H2StreamsPerConn is how many streams share one HTTP/2 connection
	// (default 100, the number browsers use).
	H2StreamsPerConn int

	// Publishers, when above 1, publishes from that many goroutines at once,
	// back to back, over keep-alive connections of one shared client (see
	// publishers.go). It cannot be combined with Gap.
	Publishers int
	// SubscribeOnly opens the streams and waits for Publishes events that
	// another process publishes, instead of publishing them (see nodes.go).
	SubscribeOnly bool
	// AwaitTimeout bounds, with SubscribeOnly, the wait for the first event
	// after Ready (default DefaultAwaitTimeout). Once events arrive, the run
	// ends when every stream has every event or Timeout after the latest
	// delivery.
	AwaitTimeout time.Duration
	// Ready, when set, is called once the streams have connected and
	// settled, just before the first publish (or, with SubscribeOnly, the
	// wait for events), with the number of streams connected.
	Ready func(connected int)
}

// DefaultPublishBody returns the PublishBody hook used when Config.PublishBody
// is nil: valksor-sse's JSON publish body
//
//	{"type":"bench","topic":"<topic>","data":"<seq> <unix nanos>"}
//
// with the topic left out when topic is empty (valksor-sse then publishes on
// its public channel).
func DefaultPublishBody(eventType, topic string) func(seq int, sentAt time.Time) (string, []byte) {
	return paddedPublishBody(eventType, topic, 0)
}

// paddedPublishBody is DefaultPublishBody with padding bytes of filler
// after the two numbers.
func paddedPublishBody(eventType, topic string, padding int) func(seq int, sentAt time.Time) (string, []byte) {
	if eventType == "" {
		eventType = DefaultEventType
	}
	typ, _ := json.Marshal(eventType)
	head := `{"type":` + string(typ)
	if topic != "" {
		t, _ := json.Marshal(topic)
		head += `,"topic":` + string(t)
	}
	head += `,"data":"`
	return func(seq int, sentAt time.Time) (string, []byte) {
		b := make([]byte, 0, len(head)+48+padding)
		b = append(b, head...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, sentAt.UnixNano(), 10)
		if padding > 0 {
			b = append(b, ' ')
			for range padding {
				b = append(b, 'x')
			}
		}
		b = append(b, `"}`...)
		return "application/json", b
	}
}

// errConfig marks configuration errors.
var errConfig = errors.New("bench: invalid config")

// normalize checks c and fills in the defaults.
func (c Config) normalize() (Config, *url.URL, error) {
	bad := func(format string, a ...any) (Config, *url.URL, error) {
		return c, nil, fmt.Errorf("%w: "+format, append([]any{errConfig}, a...)...)
	}
	if c.Streams <= 0 {
		return bad("Streams must be positive, got %d", c.Streams)
	}
	if c.Publishes < 0 {
		return bad("Publishes must not be negative, got %d", c.Publishes)
	}
	if int64(c.Streams)*int64(c.Publishes) > maxRecorded {
		return bad("Streams×Publishes is %d; keeping every latency needs %d MB: use fewer streams or publishes (at most %d deliveries)",
			int64(c.Streams)*int64(c.Publishes), int64(c.Streams)*int64(c.Publishes)*8>>20, maxRecorded)
	}
	if c.Gap < 0 {
		return bad("Gap must not be negative, got %v", c.Gap)
	}
	if err := c.checkModes(); err != nil {
		return bad("%v", err)
	}
	u, err := url.Parse(c.StreamURL)
	if err != nil {
		return bad("StreamURL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("StreamURL %q: want an http:// or https:// URL", c.StreamURL)
	}
	if u.Host == "" {
		return bad("StreamURL %q has no host", c.StreamURL)
	}
	if c.Publishes > 0 && !c.SubscribeOnly {
		p, err := url.Parse(c.PublishURL)
		if err != nil {
			return bad("PublishURL: %v", err)
		}
		if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return bad("PublishURL %q: want an http:// or https:// URL with a host", c.PublishURL)
		}
	}
	if c.SourceAddrs {
		ip := net.ParseIP(u.Hostname())
		if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			return bad("SourceAddrs needs an IPv4 loopback stream host such as 127.0.0.1, got %q", u.Hostname())
		}
	}
	if c.EventType == "" {
		c.EventType = DefaultEventType
	}
	if c.Slow < 0 || c.Padding < 0 || c.Padding > 3000 {
		return bad("Slow must not be negative and Padding must be 0 to 3000, got %d and %d", c.Slow, c.Padding)
	}
	if c.PublishBody == nil {
		c.PublishBody = paddedPublishBody(c.EventType, u.Query().Get("topic"), c.Padding)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	c.Concurrency = min(c.Concurrency, c.Streams)
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SettleTime == 0 {
		c.SettleTime = DefaultSettleTime
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if err := c.normalizeH2(u); err != nil {
		return c, nil, err
	}
	if c.AwaitTimeout <= 0 {
		c.AwaitTimeout = DefaultAwaitTimeout
	}
	return c, u, nil
}
