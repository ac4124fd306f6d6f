package classifiers

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

func TestRegistry(t *testing.T) {
	for _, file := range []string{"testdata/registry.yaml", "testdata/registry.csv"} {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			e, err := New(Options{Registry: file})
			if err != nil {
				t.Fatal(err)
			}
			if e.registry.Len() != 3 {
				t.Fatalf("registry has %d agencies", e.registry.Len())
			}
			cases := []struct {
				name, text string
				want, not  []string
			}{
				{"registered agency, its own phone",
					"PT Nawasena Lintas Mahardika (SIP3MI No. 09 Tahun 2022) membuka lowongan caregiver Taiwan. Hubungi 0812-5550-9876.",
					[]string{"legit.registered_agency_phone", "legit.registered_agency"}, []string{"np.impersonation", "np.licence_unregistered"}},
				{"registered name, someone else's phone (impersonation)",
					"PT Karya Satria Abadi membuka lowongan pabrik Taiwan, uang saku, mess gratis. Hubungi WA 0813 9999 1234.",
					[]string{"np.impersonation"}, []string{"legit.registered_agency_phone", "legit.registered_agency"}},
				{"licence number not in the registry",
					"PT Maju Jaya Sentosa (SIP3MI No. 77 Tahun 2023) rekrut operator pabrik Malaysia. WA 0813 2222 3333.",
					[]string{"np.licence_unregistered"}, []string{"legit.licence_claimed"}},
				{"revoked agency",
					"PT Lama Dicabut (SIP3MI No. 3/2019) rekrut ART Hong Kong.",
					[]string{"np.licence_unregistered"}, []string{"legit.registered_agency"}},
			}
			for _, c := range cases {
				ad := &lokerwatch.Ad{Title: "Lowongan", Text: c.text}
				e.Classify(ad)
				got := ruleIDs(ad.Assessment)
				for _, w := range c.want {
					if !slices.Contains(got, w) {
						t.Errorf("%s: rule %s did not fire (%v)", c.name, w, got)
					}
				}
				for _, n := range c.not {
					if slices.Contains(got, n) {
						t.Errorf("%s: rule %s fired (%v)", c.name, n, got)
					}
				}
			}
		})
	}
	// Without a registry a licence claim is only a weak legitimacy sign.
	ad := &lokerwatch.Ad{Title: "Lowongan", Text: "PT Maju Jaya Sentosa (SIP3MI No. 77 Tahun 2023) rekrut operator pabrik Malaysia."}
	engine(t).Classify(ad)
	if got := ruleIDs(ad.Assessment); !slices.Contains(got, "legit.licence_claimed") || slices.Contains(got, "np.licence_unregistered") {
		t.Errorf("without registry: %v", got)
	}
}

func TestRegistryErrors(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]string{
		"noname.csv":  "licence,phones\nX,1\n",
		"empty.csv":   "name,licence\n,SIP3MI 1\n",
		"broken.yaml": "agencies:\n  - name: [\n",
		"field.yaml":  "agencies:\n  - name: A\n    licnce: 1\n",
	}
	for name, body := range bad {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Options{Registry: p}); err == nil {
			t.Errorf("%s loaded without error", name)
		} else if !contains([]string{err.Error()}, err.Error()) || !filepathContains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := New(Options{Registry: filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("missing registry loaded")
	}
}

func filepathContains(msg, name string) bool {
	return len(msg) > 0 && (filepath.Base(name) == name) && (stringsContains(msg, name))
}

func stringsContains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
