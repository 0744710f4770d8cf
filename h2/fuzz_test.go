package h2_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/valksor/go-sse/h2"
)

// panicLog fails the fuzz run when net/http reports a panic of a
// connection's goroutine (it recovers them and logs "http: panic serving").
type panicLog struct{ panics atomic.Int32 }

func (p *panicLog) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "panic") {
		p.panics.Add(1)
		log.Print(string(b))
	}
	return len(b), nil
}

// FuzzConnection sends what the fuzzer makes after a valid connection
// preface and SETTINGS frame: whatever the frames are, the server answers
// or closes the connection without panicking, and goes on serving other
// connections.
func FuzzConnection(f *testing.F) {
	frames := func(write func(fr *http2.Framer)) []byte {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		fr.AllowIllegalWrites = true
		write(fr)
		return b.Bytes()
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, hf := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":path", "/echo"}, {":authority", "x"}, {"content-length", "3"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: hf[0], Value: hf[1]})
	}
	get := frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true})
		_ = fr.WriteData(1, true, []byte("abc"))
	})
	f.Add(get)
	f.Add(frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes()[:4]})
		_ = fr.WriteContinuation(1, true, block.Bytes()[4:])
		_ = fr.WriteWindowUpdate(1, 1<<30)
		_ = fr.WriteRSTStream(1, http2.ErrCodeCancel)
	}))
	f.Add(frames(func(fr *http2.Framer) {
		_ = fr.WritePing(false, [8]byte{1, 2, 3})
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}, http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
		_ = fr.WritePriority(3, http2.PriorityParam{StreamDep: 3})
		_ = fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	}))
	f.Add([]byte{0, 0, 5, 0, 0x8, 0, 0, 0, 1, 200, 1, 2, 3, 4}) // DATA with a bad pad length

	plog := &panicLog{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})
	addr, clientTLS := listenFuzz(f, handler, plog)
	f.Fuzz(func(t *testing.T, data []byte) {
		conn, err := tls.Dial("tcp", addr, clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		var b bytes.Buffer
		b.WriteString(http2.ClientPreface)
		_ = http2.NewFramer(&b, nil).WriteSettings()
		b.Write(data)
		if _, err := conn.Write(b.Bytes()); err != nil {
			return // the server closed already: an answer too
		}
		_ = conn.CloseWrite()
		_, _ = io.Copy(io.Discard, conn)
		if n := plog.panics.Load(); n > 0 {
			t.Fatalf("the server panicked %d times", n)
		}
	})
}

// listenFuzz is listen for a fuzz target: the server's error log goes to
// w, and a TLS config for raw clients is returned.
func listenFuzz(f *testing.F, h http.Handler, w io.Writer) (string, *tls.Config) {
	url, client := listenWith(f, h, &h2.Server{}, func(srv *http.Server) { srv.ErrorLog = log.New(w, "", 0) })
	resp, err := client.Get(url + "/")
	if err != nil {
		f.Fatal(err)
	}
	resp.Body.Close()
	tr := client.Transport.(*http.Transport)
	cfg := tr.TLSClientConfig.Clone()
	cfg.NextProtos = []string{"h2"}
	return strings.TrimPrefix(url, "https://"), cfg
}
