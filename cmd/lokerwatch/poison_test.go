package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestPoisonPageGoesDead: a page that kills every worker that fetches it
// (here the test SIGKILLs the worker while the page is in flight) is
// dead-lettered after crawl.max_worker_deaths (3) deaths, with that
// reason; the rest of the dead workers' turns is crawled, and a fourth
// worker finishes the crawl.
func TestPoisonPageGoesDead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and lokerwatch processes")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true})
	lokerwatchBin(t)
	const nAds = 30
	b := newJobBoard(t, nAds, 1, 10)
	const poison = "/job/7"
	var (
		mu      sync.Mutex
		current *proc
		killed  = make(chan struct{}, 8)
	)
	b.hook = func(h int, r *http.Request) {
		if r.URL.Path != poison {
			return
		}
		// In flight long enough for the worker's next beat (within 0.2 s
		// of the fetch's start) to name it, with room for a loaded machine.
		time.Sleep(2 * time.Second)
		mu.Lock()
		p := current
		mu.Unlock()
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		killed <- struct{}{}
	}
	cfg := crawlConfig(t, b, "")
	store := srv.URL()
	if code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store); code != 0 {
		t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	kills := 0
	for i := 1; ; i++ {
		w := startProc(t, "worker-"+string(rune('0'+i)), nil, "worker", "--config", cfg, "--store", store)
		mu.Lock()
		current = w
		mu.Unlock()
		select {
		case <-w.done:
		case <-time.After(120 * time.Second):
			t.Fatalf("%s neither finished nor died in 120 s", w.name)
		}
		if w.cmd.ProcessState.ExitCode() == -1 { // killed by a signal: ours?
			select {
			case <-killed:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s died of a signal the test did not send: %v", w.name, w.cmd.ProcessState)
			}
			if kills++; kills > 3 {
				t.Fatalf("the poison page killed %d workers; it should be dead after 3", kills)
			}
			continue
		}
		if code := w.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("%s exited %d; stderr:\n%s", w.name, code, tail(w.stderr.String(), 4096))
		}
		break
	}
	if kills != 3 {
		t.Errorf("%d workers died on the poison page before the crawl finished, want 3", kills)
	}
	st := openRedis(t, store)
	fs, err := st.FrontierStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !fs.Finished() || fs.Dead != 1 || fs.Failed != 0 || fs.Done != int64(nAds-1+b.listingPages()) {
		t.Errorf("frontier %+v: want finished, the poison page dead and every other URL done", fs)
	}
	failed, err := st.ListFailed(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || !strings.HasSuffix(failed[0].URL, poison) || !failed[0].Dead || failed[0].Reason != storage.DiedReason(3) {
		t.Errorf("dead letters %+v: want %s dead with reason %q", failed, poison, storage.DiedReason(3))
	}
	total, _, err := st.CountAds(context.Background())
	if err != nil || total != nAds-1 {
		t.Errorf("%d ads stored (%v), want %d: all but the poison page's", total, err, nAds-1)
	}
}
