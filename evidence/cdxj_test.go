package evidence

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSURT(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://www.example.org/index.html", "org,example)/index.html"},
		{"http://Example.COM:8080/Job?b=2&a=1", "com,example:8080)/job?a=1&b=2"},
		{"https://t.me/s/lokerkamboja", "me,t)/s/lokerkamboja"},
		{"https://example.com", "com,example)/"},
		{"https://example.com:443/x", "com,example)/x"},
		{"urn:text:foo", "urn:text:foo"},
	} {
		if got := surt(tc.in); got != tc.want {
			t.Errorf("surt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The index sorter spills sorted runs to disk and merges them; the
// result is the bytewise order LC_ALL=C sort gives.
func TestLineSorterSpills(t *testing.T) {
	for _, n := range []int{0, 1, 10, 5000} {
		s := newLineSorter(t.TempDir(), 4096)
		rng := rand.New(rand.NewPCG(7, uint64(n)))
		var want []string
		for i := 0; i < n; i++ {
			l := fmt.Sprintf("com,example)/job/%d %d {\"x\":%d}", rng.IntN(1000), rng.IntN(1e9), i)
			want = append(want, l)
			if err := s.Add(l); err != nil {
				t.Fatal(err)
			}
		}
		if n == 5000 && len(s.runs) < 10 {
			t.Fatalf("only %d runs spilled", len(s.runs))
		}
		var out strings.Builder
		if _, err := s.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if n == 0 {
			got = nil
		}
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: merged output differs from sorted input", n)
		}
	}
}
