package crawler

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecodeJSONLD decodes the JSON-LD of a BenchmarkCrawl ad page:
// standard JSON, the common case, which no longer goes through hujson.
func BenchmarkDecodeJSONLD(b *testing.B) {
	raw, _ := json.Marshal(map[string]any{"@context": "https://schema.org", "@type": "JobPosting",
		"title": "Operator produksi 17", "description": "<p>Dibutuhkan operator produksi, gaji UMK.</p>",
		"datePosted": "2026-05-01", "hiringOrganization": map[string]any{"name": "PT Contoh"}})
	for b.Loop() {
		if _, err := decodeJSONLD(string(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeJSONLDStandardAsLenient: standard JSON decodes to what the
// lenient path (hujson) gives it.
func TestDecodeJSONLDStandardAsLenient(t *testing.T) {
	for _, s := range []string{
		`{"@type":"JobPosting","title":"A","n":1.50,"x":[1,{"y":null}],"z":"\u00e9\n"}`,
		` [ {"@type" : "JobPosting"} , {"a": true} ] `,
		`{"a":1,"a":2}`,
	} {
		fast, err := decodeJSONLD(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		slow, err := decodeJSONLD(s + " /* lenient */")
		if err != nil {
			t.Fatalf("%s with a comment: %v", s, err)
		}
		a, _ := json.Marshal(fast)
		b, _ := json.Marshal(slow)
		if string(a) != string(b) {
			t.Errorf("%s: standard path %s, lenient %s", s, a, b)
		}
	}
}
