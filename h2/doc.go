// Package h2 is the HTTP/2 server of valksor-sse for TLS connections that
// negotiate h2.
package h2
