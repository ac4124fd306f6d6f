package evidence

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// Damaged bundles never make Verify panic or fail outright: every kind of
// damage ends up as problems in the report.
func TestVerifyDamagedBundlesNeverPanic(t *testing.T) {
	bundle := exportBundle(t, 3, ExportOptions{Key: testKey(t, P384)})
	rng := rand.New(rand.NewPCG(42, 1))
	broken := 0
	for i := 0; i < 100; i++ {
		b := bytes.Clone(bundle)
		for k := 0; k <= rng.IntN(3); k++ {
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		if i%10 == 0 {
			b = b[:rng.IntN(len(b))] // truncated download
		}
		rep, err := Verify(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatalf("damage %d: error instead of a report: %v", i, err)
		}
		if !rep.Intact() {
			broken++
		}
	}
	// A flip can land in bytes nothing reads (a local header's time);
	// nearly all damage must still be found.
	if broken < 80 {
		t.Errorf("only %d of 100 damaged bundles reported", broken)
	}
}

func FuzzScanWARC(f *testing.F) {
	a := NewArchiver(nil, ArchiverOptions{})
	ex := &lokerwatch.Exchange{URL: "http://example.com/job/1", StatusLine: "HTTP/1.1 200 OK", RawBody: []byte("<p>kerja</p>")}
	ad := flaggedAd("f", ex.URL, 1, "+6281234567890", time.Now())
	rec, err := a.build(ex, []*lokerwatch.Ad{ad})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec.WARC)
	var plain bytes.Buffer
	(&record{fields: []field{{"WARC-Type", "resource"}}, block: []byte("x")}).writeTo(&plain)
	f.Add(plain.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		newWARCScanner().scan(bytes.NewReader(data), func(*recordInfo) error { return nil })
	})
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Verify(bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	})
}
