package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lokerwatch/lokerwatch/storage"
)

// newRegistry makes the process's metrics registry: runtime collectors,
// build info and, when st is given, the store's backlog gauges.
func newRegistry(st storage.StatsSource, log *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	revision, goVersion := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lokerwatch_build_info", Help: "Build of the running binary (always 1).",
	}, []string{"version", "revision", "goversion"})
	info.WithLabelValues(version, revision, goVersion).Set(1)
	reg.MustRegister(info)
	if st != nil {
		registerStore(reg, st, log)
	}
	return reg
}

// registerStore adds the store's backlog gauges and, for stores that count
// their own errors (Redis), those counters.
func registerStore(reg prometheus.Registerer, st storage.StatsSource, log *slog.Logger) {
	reg.MustRegister(storage.NewCollector(st, log))
	if c, ok := st.(prometheus.Collector); ok {
		reg.MustRegister(c)
	}
}

// pinger is what /readyz checks.
type pinger interface {
	Ping(ctx context.Context) error
}

// serveMetrics serves /metrics, /healthz and /readyz on addr until ctx ends.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, st pinger, log *slog.Logger) (string, error) {
	mux := http.NewServeMux()
	// OpenMetrics to scrapers that ask for it (exemplars, _created).
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "store unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", usagef("--metrics-listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}

// lazyPinger is not ready until the store is open.
type lazyPinger struct {
	mu sync.Mutex
	p  pinger
}

func (l *lazyPinger) set(p pinger) {
	l.mu.Lock()
	l.p = p
	l.mu.Unlock()
}

func (l *lazyPinger) Ping(ctx context.Context) error {
	l.mu.Lock()
	p := l.p
	l.mu.Unlock()
	if p == nil {
		return errors.New("store not open yet")
	}
	return p.Ping(ctx)
}
