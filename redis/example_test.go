package redis_test

import (
	"context"
	"log"
	"net/http"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/redis"
)

// Several servers run this with the same Redis and prefix behind a load
// balancer; an event published on any of them reaches the streams of all.
func ExampleNew() {
	ctx := context.Background()
	tr, err := redis.New(ctx, redis.Options{URL: "redis://127.0.0.1:6379/0", Prefix: "myapp-sse"})
	if err != nil {
		log.Fatal(err) // redis: cannot reach redis://127.0.0.1:6379/0: ...; is redis-server running?
	}
	defer tr.Close()
	hub, err := sse.New(sse.WithTransport(tr))
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Shutdown(ctx)
	mux := http.NewServeMux()
	hub.Register(mux)
	_ = hub.Broadcast(ctx, sse.Reload("app.css"))
}
