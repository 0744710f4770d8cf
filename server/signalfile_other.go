//go:build !unix

package server

// openNonBlocking is 0 where opening a file cannot wait for a writer.
const openNonBlocking = 0
