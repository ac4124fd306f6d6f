package demo

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// A crawl of the sample web joins the board ad and the channel post that
// ask for a deposit into the same BCA account (written two ways) into one
// persona, on either store.
func TestDemoPersonaThroughBankAccount(t *testing.T) {
	stores := map[string]func(t *testing.T) storage.Store{
		"sqlite": func(t *testing.T) storage.Store { return openStore(t) },
		"redis": func(t *testing.T) storage.Store {
			srv := redistest.Start(t, redistest.Config{})
			st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			raw := open(t)
			st := persona.Linking(raw, persona.NewLinker(raw, persona.Options{}))
			var out bytes.Buffer
			if _, err := run(ctx, Options{Store: st, Out: &out, Once: true}); err != nil {
				t.Fatalf("demo run: %v\n%s", err, out.String())
			}
			key := lokerwatch.IndexKey{Kind: lokerwatch.EntityBank, Value: "bca:4471209385"}
			ids, err := raw.AdsByKey(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 2 {
				t.Fatalf("ads with %v: %v, want the board ad and channel post 113", key, ids)
			}
			sources := map[string]bool{}
			var pid string
			for _, id := range ids {
				ad, err := raw.GetAd(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				sources[ad.Source] = true
				if ad.Entities.Holders["bca:4471209385"] != "Hendra Wijaya" {
					t.Errorf("holder of %s: %v", ad.URL, ad.Entities.Holders)
				}
				p, err := raw.PersonaOf(ctx, id)
				if err != nil {
					t.Fatalf("persona of %s: %v", ad.URL, err)
				}
				if pid == "" {
					pid = p.ID
				} else if p.ID != pid {
					t.Fatalf("the two ads are in personas %s and %s", pid, p.ID)
				}
			}
			if len(sources) != 2 {
				t.Fatalf("sources %v, want two", sources)
			}
			p, err := raw.GetPersona(ctx, pid)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Sources) < 2 || p.Categories[lokerwatch.CategoryScam] < 2 {
				t.Fatalf("persona %+v", p)
			}
			keys, err := raw.PersonaKeys(ctx, pid, 0)
			if err != nil {
				t.Fatal(err)
			}
			var crypto bool
			for _, k := range keys {
				crypto = crypto || k == lokerwatch.IndexKey{Kind: lokerwatch.EntityCrypto, Value: "tron:TDBHTiPDbNM6r8YtH4mtfpmH8JzVtBg5KX"}
			}
			if !crypto {
				t.Errorf("persona keys %v lack the TRC20 address", keys)
			}
		})
	}
}
