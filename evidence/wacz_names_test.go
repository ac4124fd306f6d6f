package evidence

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The Data Package rule for resource names: lowercase alphanumerics and
// ".", "_", "-" (issue 22: "lokerwatch-exp-20261207T134703Z-….warc.gz"
// broke it).
var dataPackageNameRe = regexp.MustCompile(`^[a-z0-9._-]+$`)

func TestWACZResourceNamesFollowDataPackageRule(t *testing.T) {
	bundle := exportBundle(t, 3, ExportOptions{Files: map[string][]byte{
		// Extra case files whose base names collide with the exporter's
		// own, and one with characters the rule does not allow.
		"case/graphs/ads.csv":       []byte("a,b\n"),
		"case/Notes/Kasus Ä #1.txt": []byte("catatan\n"),
	}})
	data, _ := zipFiles(t, bundle)
	var dp dataPackage
	if err := json.Unmarshal(data[datapackagePath], &dp); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	sawWARC := false
	for _, r := range dp.Resources {
		if !dataPackageNameRe.MatchString(r.Name) {
			t.Errorf("resource %s: name %q breaks the Data Package rule", r.Path, r.Name)
		}
		if other, dup := names[r.Name]; dup {
			t.Errorf("resources %s and %s share the name %q", other, r.Path, r.Name)
		}
		names[r.Name] = r.Path
		if strings.HasPrefix(r.Path, "archive/") {
			sawWARC = true
			// The WARC's name keeps its export ID, lowercased; its path
			// (what the index and replay use) is unchanged.
			if want := strings.ToLower(strings.TrimPrefix(r.Path, "archive/")); r.Name != want {
				t.Errorf("WARC resource name %q, want %q", r.Name, want)
			}
			if !strings.Contains(r.Path, "T") || !strings.Contains(r.Path, "Z-") {
				t.Errorf("WARC path %q lost its export ID", r.Path)
			}
		}
	}
	if !sawWARC {
		t.Fatal("no archive/ resource")
	}
	for _, p := range []string{"case/ads.csv", "case/graphs/ads.csv", "case/Notes/Kasus Ä #1.txt"} {
		found := false
		for _, path := range names {
			found = found || path == p
		}
		if !found {
			t.Errorf("no resource for %s: %v", p, names)
		}
	}
	if rep := verifyBytes(t, bundle); !rep.Intact() {
		t.Errorf("new bundle not intact: %v", rep.Problems)
	}
}

// A bundle written before resource names followed the rule (committed as
// written then, signed with the key beside it) still verifies: intact,
// signature valid, key trusted. Verify goes by each resource's path.
func TestVerifyAcceptsBundleWithOldResourceNames(t *testing.T) {
	bundle, err := os.ReadFile("testdata/pre-issue22.wacz")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey("testdata/pre-issue22.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := zipFiles(t, bundle)
	var dp dataPackage
	if err := json.Unmarshal(data[datapackagePath], &dp); err != nil {
		t.Fatal(err)
	}
	old := false
	for _, r := range dp.Resources {
		old = old || !dataPackageNameRe.MatchString(r.Name)
	}
	if !old {
		t.Fatal("the fixture has no resource name of the old form; it no longer tests what it should")
	}
	rep := verifyBytes(t, bundle, pub)
	if !rep.Intact() || !rep.SignatureValid || !rep.KeyTrusted {
		var out bytes.Buffer
		rep.WriteText(&out)
		t.Fatalf("bundle written before issue 22 does not verify:\n%s", out.String())
	}
}
