package classifiers

import (
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

// TestNativeConditionsMatchVM: every condition compiled for native
// evaluation gives what the expr VM gives, on the facts of real ads, and
// most of the default rules take the native path.
func TestNativeConditionsMatchVM(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	native, vmOnly := 0, 0
	for i := range e.rules {
		if e.rules[i].hasNative {
			native++
		} else {
			vmOnly++
			t.Logf("runs on the VM: %s: %s", e.rules[i].id, e.rules[i].when)
		}
	}
	if native < len(e.rules)/2 {
		t.Errorf("%d of %d rules compiled natively; want most", native, len(e.rules))
	}
	lines := loadLines(t, "testdata/tuned.jsonl")
	lines = append(lines, loadLines(t, "testdata/tuned-late.jsonl")...)
	fired := map[string]int{}
	for _, l := range lines {
		st := e.pool.Get().(*state)
		ad := lokerwatch.Ad{ID: l.ID, Title: l.Title, Text: l.Text, Source: l.Source}
		st.run(&ad)
		for i := range e.rules {
			r := &e.rules[i]
			if !r.hasNative {
				continue
			}
			out, err := st.vm.Run(r.program, nativeEnv(e, st))
			if err != nil {
				t.Fatalf("%s on %s: %v", r.id, l.ID, err)
			}
			want, _ := out.(bool)
			if got := r.native.eval(st); got != want {
				t.Errorf("%s on ad %s: native %v, VM %v (%s)", r.id, l.ID, got, want, r.when)
			}
			if want {
				fired[r.id]++
			}
		}
		e.pool.Put(st)
	}
	if len(fired) < 20 {
		t.Errorf("only %d native rules fired on the fixtures: the comparison says little", len(fired))
	}
}

// nativeEnv is the expr env of st's facts as natively compiled conditions
// see them (the state writes its env only for conditions run on the VM).
func nativeEnv(e *Engine, st *state) map[string]any {
	env := make(map[string]any, len(e.factKinds))
	for name, zero := range e.factKinds {
		env[name] = zero
		id := e.factID[name]
		if !st.truthy[id] {
			continue
		}
		switch zero.(type) {
		case bool:
			env[name] = true
		case int:
			env[name] = st.nums[id]
		}
	}
	return env
}
