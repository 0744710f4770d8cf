package sse_test

import (
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/ssetest"
)

func TestMemoryTransportConformance(t *testing.T) {
	ssetest.Run(t, ssetest.Config{
		New:         func(*testing.T) sse.Transport { return sse.NewMemoryTransport(100) },
		HistorySize: 100,
	})
}

func TestMemoryTransportConformanceSmall(t *testing.T) {
	ssetest.Run(t, ssetest.Config{
		New:         func(*testing.T) sse.Transport { return sse.NewMemoryTransport(20) },
		HistorySize: 20,
	})
}
