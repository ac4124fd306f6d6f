package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/notify"
	"github.com/lokerwatch/lokerwatch/storage"
)

// alertDrain is how long a one-shot crawl waits, after its last page, for
// the alerts it raised to be sent; what is left stays in the store's
// outbox for the next process that runs the notifier (crawl, worker, serve).
var alertDrain = 30 * time.Second

// alerts is the notifier running beside a crawl or the console.
type alerts struct {
	n    *notify.Notifier
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// startAlerts runs the notifier when notify.rules has a rule; nil otherwise.
func startAlerts(ctx context.Context, cfg *config.Config, st storage.Outbox, log *slog.Logger, reg prometheus.Registerer) (*alerts, error) {
	if len(cfg.Notify.Rules) == 0 {
		return nil, nil
	}
	n, err := notify.New(notify.Options{Config: cfg.Notify, Store: st, Logger: log, Registerer: reg})
	if err != nil {
		return nil, usageError{fmt.Errorf("notify: %w", err)}
	}
	// The notifier outlives ctx by a drain: close stops it.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &alerts{n: n, stop: cancel}
	a.wg.Go(func() { n.Run(rctx) })
	return a, nil
}

// drain waits up to d for the alerts due now to be sent.
func (a *alerts) drain(ctx context.Context, log *slog.Logger, d time.Duration) {
	if a == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	if err := a.n.Drain(dctx); err != nil {
		log.Warn("alerts not all sent before exit; they wait in the store's outbox", "waited", d)
	}
}

func (a *alerts) close() {
	if a == nil {
		return
	}
	a.stop()
	a.wg.Wait()
}
