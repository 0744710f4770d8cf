package sse

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"time"
)

// TLSConfig returns a copy of cfg for a TLS listener over Listener, with
// which the hub encrypts the TLS 1.3 streams it takes over itself:
//
//	ln, err := net.Listen("tcp", ":8443")
//	...
//	err = srv.Serve(tls.NewListener(sse.Listener(ln), sse.TLSConfig(cfg)))
//
// Once such a stream's response head is out, the hub drops the
// connection's *tls.Conn, and with it the buffers crypto/tls keeps for as
// long as a connection lives, and writes TLS 1.3 application data records
// of its own (RFC 8446, section 5.2) with the connection's server traffic
// key, which it learns from crypto/tls's key log of that connection. An
// idle TLS stream then costs about 1.4 times what a plain one does, a
// quarter of what it costs with its *tls.Conn. It does so for the AES-GCM cipher
// suites (TLS_AES_128_GCM_SHA256, which browsers, curl and Go's client
// negotiate with a Go server on machines with AES instructions, and
// TLS_AES_256_GCM_SHA384); a connection with TLS_CHACHA20_POLY1305_SHA256
// (clients without AES instructions) or TLS 1.2 keeps its *tls.Conn, as
// with a config not made by TLSConfig.
//
// A stream taken over this way sends no key update: it ends, and its
// client reconnects, after 2^24 records, far below the limit RFC 8446 sets
// for AES-GCM. What the client sends after its request is not decrypted:
// the hub only notices that it hangs up, as for any stream.
//
// Give TLSConfig the complete config (certificates, NextProtos listing
// "h2" and "http/1.1" so that HTTP/2 is still negotiated): each handshake
// uses a copy of cfg as it was, or of what cfg's GetConfigForClient
// returns. cfg's KeyLogWriter, if any, still gets every line. Serve the
// listener with http.Server's Serve, not ServeTLS, which would wrap it in
// TLS a second time.
func TLSConfig(cfg *tls.Config) *tls.Config {
	base := cfg.Clone()
	if base == nil {
		base = &tls.Config{}
	}
	out := base.Clone()
	out.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base
		if base.GetConfigForClient != nil {
			r, err := base.GetConfigForClient(hello)
			if err != nil {
				return nil, err
			}
			if r != nil {
				c = r
			}
		}
		sc, ok := hello.Conn.(*streamConn)
		if !ok {
			return c, nil
		}
		per := c.Clone()
		per.GetConfigForClient = nil
		per.KeyLogWriter = keyLog{sc: sc, next: c.KeyLogWriter}
		return per, nil
	}
	return out
}

// keyLog is the key log of one connection: it keeps the server's
// application traffic secret in the connection, and passes every line on
// to next.
type keyLog struct {
	sc   *streamConn
	next io.Writer
}

// Write implements io.Writer for tls.Config.KeyLogWriter, which writes one
// NSS key log line at a time: "LABEL <client random> <secret>\n".
func (k keyLog) Write(line []byte) (int, error) {
	if k.next != nil {
		if _, err := k.next.Write(line); err != nil {
			return 0, err
		}
	}
	rest, ok := bytes.CutPrefix(line, []byte("SERVER_TRAFFIC_SECRET_0 "))
	if !ok {
		return len(line), nil
	}
	_, secretHex, _ := bytes.Cut(bytes.TrimSpace(rest), []byte(" "))
	secret := make([]byte, hex.DecodedLen(len(secretHex)))
	if _, err := hex.Decode(secret, secretHex); err != nil || len(secret) == 0 {
		return len(line), nil
	}
	k.sc.mu.Lock()
	k.sc.keys = &streamKeys{secret: secret}
	k.sc.mu.Unlock()
	return len(line), nil
}

const (
	recordHeaderLen = 5
	tagLen          = 16    // AES-GCM's
	maxPlaintext    = 16384 // a record's payload, RFC 8446 section 5.1
	// maxRecords is how many records a stream taken over sends before it
	// ends: RFC 8446 section 5.5 allows 2^24.5 full records per AES-GCM
	// key, and the hub sends no key update.
	maxRecords = 1 << 24
	// maxSeqSearch bounds the search for the sequence number of the last
	// record crypto/tls wrote; a connection that sent more records than
	// this before its stream keeps its *tls.Conn.
	maxSeqSearch = 4096

	recordApplicationData = 23
	recordAlert           = 21
)

var (
	errTLSTakenOver = errors.New("sse: the hub writes this TLS connection's records now")
	errRecordLimit  = errors.New("sse: the stream sent as many TLS records as one key may encrypt")
)

// sealer is a TLS 1.3 stream the hub took over from crypto/tls: its writes
// become application data records, encrypted with the connection's server
// traffic key and the sequence numbers that follow crypto/tls's last
// record, and go out through the streamConn (without waiting once it is
// lean). Everything else is the streamConn's.
//
// An idle stream keeps the key, not the cipher: the AES-GCM state is 768
// bytes (crypto/cipher's, with both key schedules and the GHASH table), a
// third of what a whole plain stream costs, while building it takes about
// half a microsecond, a tenth of a write. Each write builds it (see
// cipher). The fields from key on are guarded by streamConn.mu.
type sealer struct {
	*streamConn
	key    [32]byte
	keyLen uint8
	iv     [12]byte
	seq    uint64 // the next record's
}

// takeOver writes head through tc, the *tls.Conn over c, and then, when it
// can, takes the connection over from crypto/tls: it returns the sealer
// that writes from then on, after which crypto/tls can no longer write to
// c. It returns nil (and no error) when the connection keeps tc: TLS 1.2,
// another cipher suite, no secret in the key log, or a record it cannot
// place. It is called on the stream's hand-off, when nothing else writes
// to tc.
func (c *streamConn) takeOver(tc *tls.Conn, head []byte) (*sealer, error) {
	st := tc.ConnectionState()
	c.mu.Lock()
	keys := c.keys
	capture := keys != nil && st.Version == tls.VersionTLS13 && sealable(st.CipherSuite)
	if capture {
		c.tls.Store(tlsCapturing)
	} else {
		c.keys = nil
	}
	c.mu.Unlock()

	_, err := tc.Write(head)
	if !capture {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = nil
	c.tls.Store(tlsNormal)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(c, st.CipherSuite, keys.secret)
	clear(keys.secret)
	if err != nil {
		return nil, nil // keep tc: crypto/tls writes as before
	}
	aead, err := s.cipher()
	if err != nil {
		return nil, nil // FIPS 140-only mode refuses nonces it does not make
	}
	seq, found := s.place(aead, keys.last)
	if !found {
		return nil, nil
	}
	s.seq = seq + 1
	c.tls.Store(tlsSealed) // from here on crypto/tls's writes are refused
	return s, nil
}

// hasKeys reports whether the handshake left what takeOver needs.
func (c *streamConn) hasKeys() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys != nil
}

// sealable reports whether the hub writes records of the TLS 1.3 cipher
// suite itself: the AES-GCM ones, whose AEAD the standard library has.
func sealable(suite uint16) bool {
	return suite == tls.TLS_AES_128_GCM_SHA256 || suite == tls.TLS_AES_256_GCM_SHA384
}

// newSealer derives the record key and IV of an AES-GCM suite from the
// server application traffic secret (RFC 8446 section 7.3).
func newSealer(c *streamConn, suite uint16, secret []byte) (*sealer, error) {
	var key, iv []byte
	var err error
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		key, iv, err = trafficKey(sha256.New, secret, 16)
	case tls.TLS_AES_256_GCM_SHA384:
		key, iv, err = trafficKey(sha512.New384, secret, 32)
	default:
		err = errors.New("sse: no record writer for this cipher suite")
	}
	if err != nil {
		return nil, err
	}
	s := &sealer{streamConn: c, keyLen: uint8(len(key))}
	copy(s.key[:], key)
	copy(s.iv[:], iv)
	clear(key)
	clear(iv)
	return s, nil
}

// cipher builds the AES-GCM state of s's key, for one write or the search
// for the sequence number.
func (s *sealer) cipher() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.key[:s.keyLen])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// trafficKey derives the write key of keyLen bytes and the 12-byte IV from
// a traffic secret with HKDF-Expand-Label over the suite's hash.
func trafficKey[H hash.Hash](h func() H, secret []byte, keyLen int) (key, iv []byte, err error) {
	key, err = hkdf.Expand(h, secret, hkdfLabel("key", keyLen), keyLen)
	if err != nil {
		return nil, nil, err
	}
	iv, err = hkdf.Expand(h, secret, hkdfLabel("iv", 12), 12)
	return key, iv, err
}

// hkdfLabel is the HkdfLabel structure of HKDF-Expand-Label with an empty
// context (RFC 8446 section 7.1).
func hkdfLabel(label string, length int) string {
	full := "tls13 " + label
	b := make([]byte, 0, 4+len(full))
	b = append(b, byte(length>>8), byte(length), byte(len(full)))
	b = append(b, full...)
	b = append(b, 0)
	return string(b)
}

// place finds the sequence number of record, the last record crypto/tls
// wrote with the traffic key: the one under which it decrypts.
func (s *sealer) place(aead cipher.AEAD, record []byte) (uint64, bool) {
	if len(record) < recordHeaderLen+tagLen {
		return 0, false
	}
	scratch := make([]byte, 0, len(record))
	nonce := new([12]byte)
	for seq := range uint64(maxSeqSearch) {
		*nonce = s.nonce(seq)
		if _, err := aead.Open(scratch, nonce[:], record[recordHeaderLen:], record[:recordHeaderLen]); err == nil {
			return seq, true
		}
	}
	return 0, false
}

// nonce is the per-record nonce: the IV XORed with the sequence number
// (RFC 8446 section 5.3).
func (s *sealer) nonce(seq uint64) [12]byte {
	n := s.iv
	for i := range 8 {
		n[4+i] ^= byte(seq >> (56 - 8*i))
	}
	return n
}

// appendRecords appends p to dst as records of content type typ, advancing
// the sequence number; nonce is scratch space (on the heap: the AEAD is an
// interface, so a nonce on the stack would escape on every record).
// streamConn.mu is held.
func (s *sealer) appendRecords(aead cipher.AEAD, dst, p []byte, typ byte, nonce *[12]byte) []byte {
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), maxPlaintext)
		size := n + 1 + tagLen
		hdr := len(dst)
		dst = append(dst, recordApplicationData, 3, 3, byte(size>>8), byte(size))
		start := len(dst)
		dst = append(dst, p[:n]...)
		dst = append(dst, typ)
		*nonce = s.nonce(s.seq)
		dst = aead.Seal(dst[:start], nonce[:], dst[start:], dst[hdr:start])
		s.seq++
		p = p[n:]
	}
	return dst
}

// sealedLen is the length of p as records.
func (s *sealer) sealedLen(p int) int {
	records := max(1, (p+maxPlaintext-1)/maxPlaintext)
	return p + records*(recordHeaderLen+1+tagLen)
}

// Write encrypts p as application data records and writes them as the
// streamConn writes: without waiting once lean, keeping what the socket
// does not take.
func (s *sealer) Write(p []byte) (int, error) {
	f := borrowFlusher()
	defer returnFlusher(f)
	c := s.streamConn
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.seq+uint64(len(p)/maxPlaintext+1) > maxRecords {
		return 0, errRecordLimit
	}
	if cap(f.buf) < s.sealedLen(len(p)) {
		f.buf = make([]byte, 0, s.sealedLen(len(p)))
	}
	aead, err := s.cipher()
	if err != nil {
		return 0, err
	}
	f.buf = s.appendRecords(aead, f.buf[:0], p, recordApplicationData, &f.nonce)
	if !c.lean.Load() {
		// The opening, written while the hand-off waits for it.
		if _, err := c.Conn.Write(f.buf); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if _, err := c.writeLeanLocked(f.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends the close_notify alert (see closeNotifyLocked) and closes
// the connection.
func (s *sealer) Close() error {
	c := s.streamConn
	c.mu.Lock()
	s.closeNotifyLocked()
	c.mu.Unlock()
	return c.Close()
}

// closeNotifyLocked sends the close_notify alert, unless the socket still
// holds a backlog. Where the socket is written raw the alert goes out only
// if the socket takes it at once; elsewhere it waits for the socket up to
// closeNotifyTimeout, as crypto/tls's own Close does. streamConn.mu is
// held.
func (s *sealer) closeNotifyLocked() {
	c := s.streamConn
	if !c.lean.Load() || len(c.backlog) > 0 || s.seq >= maxRecords {
		return
	}
	aead, err := s.cipher()
	if err != nil {
		return
	}
	alert := s.appendRecords(aead, make([]byte, 0, 32), []byte{1, 0}, recordAlert, new([12]byte)) // warning, close_notify
	if c.raw != nil {
		_, _ = c.writeLeanLocked(alert)
		return
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(closeNotifyTimeout))
	_, _ = c.Conn.Write(alert)
}

// closeNotifyTimeout bounds the wait for a socket to take the close_notify
// alert where it is not written raw.
const closeNotifyTimeout = time.Second
