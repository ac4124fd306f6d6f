package redis_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestErrorCounter checks lokerwatch_redis_errors_total: zero for the
// known operations at start, and counted by operation when Redis is gone.
func TestErrorCounter(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	if n, err := testutil.GatherAndCount(reg, "lokerwatch_redis_errors_total"); err != nil || n < 10 {
		t.Fatalf("want the known operations initialised, got %d series (%v)", n, err)
	}
	srv.Kill()
	ctx := ctxT(t)
	if _, err := s.Add(ctx, storage.Request{URL: "http://a.example/", Source: "s"}); !errors.Is(err, redis.ErrUnreachable) {
		t.Fatalf("add with Redis down: %v, want ErrUnreachable", err)
	}
	if _, err := s.ClaimRequest(ctx, "w", time.Minute); err == nil {
		t.Fatal("claim with Redis down: no error")
	}
	counter := func(op string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == op {
					return m.GetCounter().GetValue()
				}
			}
		}
		return -1
	}
	total := 0.0
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mfs[0].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	if total < 2 {
		t.Errorf("errors counted in all = %v, want ≥ 2 (add and claim failed)", total)
	}
	if got := counter("claim"); got < 1 {
		t.Errorf("errors{op=claim} = %v, want ≥ 1", got)
	}
	if got := counter("decide"); got != 0 {
		t.Errorf("errors{op=decide} = %v, want 0", got)
	}
}
