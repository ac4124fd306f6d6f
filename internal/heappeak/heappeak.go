// Package heappeak measures the peak live heap while a piece of work runs,
// for tests and benchmarks that bound memory (hostile crawls, streamed
// exports).
package heappeak

import (
	"runtime"
	"sync/atomic"
	"time"
)

// During runs fn and returns the highest HeapAlloc seen, sampled every
// interval (and once at the start, after a GC, so earlier garbage does
// not count).
func During(interval time.Duration, fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-sampled
	return peak.Load()
}
