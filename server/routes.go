package server

import (
	"net/http"

	"github.com/valksor/go-sse/mercure"
	"github.com/valksor/go-sse/metrics"
	"github.com/valksor/go-sse/web"
)

// routes builds the mux of the server and returns it behind the
// middleware: the access log outside, then the rate limits, then the
// origin check of cookie-authenticated publishes.
//
//	base, base/...              the hub: stream, healthz, publish, ping
//	base/readyz                 readiness, for load balancers
//	base/client.js, worker.js   the browser client
//	dashboard path              the dashboard (Options.Dashboard)
//	/.well-known/mercure        the Mercure hub (Options.Mercure)
//	/metrics                    Prometheus metrics (Options.Metrics)
//	mapper prefix               the assets and import map (Options.Mapper)
//	/                           Options.Fallback, or the demo page
func (s *Server) routes() (http.Handler, error) {
	o := s.opts
	mux := http.NewServeMux()
	s.hub.Register(mux)
	mux.HandleFunc(o.BasePath+"/readyz", s.serveReady)
	web.Register(mux, o.BasePath)
	if s.dash != nil {
		s.dash.Attach(s.hub)
		s.dash.Register(mux)
	}
	if o.Mercure != nil {
		s.mountMercure(mux)
	}
	if o.Metrics {
		s.metrics = metrics.New(s.hub)
		s.metrics.GaugeFunc("valksor_sse_rate_limit_clients", "Clients remembered by the rate limits (buckets and stream holders).", func() float64 {
			st := s.limiter.Stats()
			return float64(st.StreamBuckets + st.PublishBuckets + st.Clients)
		})
		mux.Handle("/metrics", s.metrics.Handler())
	}
	if o.Mapper != nil {
		mux.Handle(o.Mapper.Prefix(), o.Mapper)
		if o.ImportMap != nil {
			registerImportMap(mux, o.Mapper, *o.ImportMap)
		}
	}
	if o.Fallback != nil {
		mux.Handle("/", o.Fallback)
	} else {
		mux.Handle("/{$}", web.DemoHandler(o.BasePath))
	}
	return s.logRequests(s.limiter.Handler(s.checkOrigin(mux))), nil
}

// mountMercure serves the Mercure protocol on mux, or a 503 that says why
// it cannot.
func (s *Server) mountMercure(mux *http.ServeMux) {
	h, err := s.opts.Mercure(s.hub)
	if err != nil {
		s.log.Error("the Mercure hub is not available", "err", err)
		down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "the Mercure hub is misconfigured: "+err.Error(), http.StatusServiceUnavailable)
		})
		mux.Handle(mercure.Path, down)
		mux.Handle(mercure.Path+"/", down)
		return
	}
	h.Register(mux)
	s.log.Info("Mercure hub enabled", "path", mercure.Path)
}
