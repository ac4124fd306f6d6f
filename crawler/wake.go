package crawler

import (
	"context"
	"sync"
	"time"
)

// wake lets idle workers sleep until something they could claim may be
// there — a host freed by an ack or a failure in this process, links queued
// here, the crawl found finished — instead of polling the store on a
// back-off that keeps growing while work waits. Changes made by other
// processes are still only seen by that polling.
type wake struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next signal. Take it before looking
// at the store, so that a signal in between is not missed.
func (w *wake) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// signal wakes every worker waiting now.
func (w *wake) signal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// sleepOrWake waits for d, a signal or the end of ctx. It reports whether
// it was woken by a signal.
func sleepOrWake(ctx context.Context, d time.Duration, ch <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
