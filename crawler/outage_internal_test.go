package crawler

import (
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// TestDefaultStoreOutage: without Options.StoreOutage (the CLI sets none)
// a worker gives up after 5 minutes of store outage, as docs/operator.md says;
// TestGiveUpAfterStoreOutage shows the giving up itself.
func TestDefaultStoreOutage(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	c, err := New(Options{Config: cfg, Store: st, Classifier: nopClassifier{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.outage != 5*time.Minute {
		t.Errorf("default store outage %s, want 5m", c.outage)
	}
}

type nopClassifier struct{}

func (nopClassifier) Classify(*lokerwatch.Ad) {}
