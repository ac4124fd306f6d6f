package promreg

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	reg := prometheus.NewRegistry()
	newCounter := func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lokerwatch_test_total", Help: "h"}, []string{"x"})
	}
	a, b := newCounter(), newCounter()
	var err error
	Register(reg, &a, "test metrics", &err)
	Register(reg, &b, "test metrics", &err)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("the second instance should adopt the registered collector")
	}

	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "lokerwatch_test_total", Help: "h"})
	Register(reg, &g, "other metrics", &err)
	if err == nil || !strings.Contains(err.Error(), "register other metrics") {
		t.Errorf("a clash of types: err = %v", err)
	}
	c := newCounter()
	Register(reg, &c, "later", &err) // no-op once err is set
	if c == a {
		t.Error("Register ran after an error")
	}
}
