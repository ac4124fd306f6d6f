package redis_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestMigrateV1 opens a store made by the release before key layout 2
// (testdata/v1-release.rdb, commit a94bdb4: `demo --once`, a crawl of a
// board whose three job pages are also its RSS feed's items, and two
// `review decide`s, as for the SQLite fixture): every key is still there
// as it was, and the next sighting of a page stored twice goes to one of
// its ads (the one with a decided review item) instead of a third.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in, err := os.Open(filepath.Join("testdata", "v1-release.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "v1.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	in.Close()
	out.Close()
	srv := redistest.Start(t, redistest.Config{Args: []string{"--dir", dir, "--dbfilename", "v1.rdb"}})
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rc.Close()

	dump := func() map[string]string {
		keys, err := rc.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range keys {
			typ, err := rc.Type(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			// Values, not DUMP: a key's encoding may change on load.
			var v any
			switch typ {
			case "string":
				v, err = rc.Get(ctx, k).Result()
			case "hash":
				v, err = rc.HGetAll(ctx, k).Result()
			case "set":
				var ms []string
				ms, err = rc.SMembers(ctx, k).Result()
				slices.Sort(ms)
				v = ms
			case "zset":
				v, err = rc.ZRangeWithScores(ctx, k, 0, -1).Result()
			case "list":
				v, err = rc.LRange(ctx, k, 0, -1).Result()
			case "stream":
				v, err = rc.XRange(ctx, k, "-", "+").Result()
			default:
				t.Fatalf("key %s of type %s", k, typ)
			}
			if err != nil {
				t.Fatal(err)
			}
			m[k] = typ + " " + fmt.Sprint(v)
		}
		return m
	}
	before := dump()
	if len(before) < 100 || before["lw:ad:36b4df34d5a04629e0c2"] == "" {
		t.Fatalf("fixture not loaded: %d keys", len(before))
	}

	st, err := redis.OpenURL(ctx, srv.URL(), redis.Options{})
	if err != nil {
		t.Fatalf("open version-1 store: %v", err)
	}
	defer st.Close()
	after := dump()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("key %s changed by the migration:\n%s\n%s", k, v, after[k])
		}
	}
	var added []string
	for k := range after {
		if _, ok := before[k]; !ok {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	if !slices.Equal(added, []string{"lw:adurl", "lw:schema"}) {
		t.Errorf("migration added %v, want lw:adurl and lw:schema", added)
	}

	var job1, job3 string
	n := 0
	err = st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		n++
		if strings.HasSuffix(ad.URL, "/job1.html") {
			job1 = ad.URL
		}
		if strings.HasSuffix(ad.URL, "/job3.html") {
			job3 = ad.URL
		}
		return nil
	})
	if err != nil || job1 == "" || job3 == "" {
		t.Fatalf("scan: %v (job1 %q, job3 %q)", err, job1, job3)
	}
	for _, tc := range []struct {
		url, decided, sources string
	}{
		{job1, "36b4df34d5a04629e0c2", "board-rss,board"},
		{job3, "55fe5026bee01fad9734", "board"},
	} {
		old, err := st.GetAd(ctx, tc.decided)
		if err != nil {
			t.Fatal(err)
		}
		ad := *old
		ad.ID, ad.Source, ad.PageURL, ad.Sources = lokerwatch.PageAdID(tc.url), "board", tc.url, nil
		ad.FetchedAt = old.LastSeen.Add(1e9)
		res, err := st.PutAd(ctx, &ad)
		if err != nil {
			t.Fatal(err)
		}
		if res.New || ad.ID != tc.decided {
			t.Errorf("%s: put as %s (new %v), want the version-1 ad %s", tc.url, ad.ID, res.New, tc.decided)
		}
		var names []string
		for _, sg := range ad.Sources {
			names = append(names, sg.Source)
		}
		if strings.Join(names, ",") != tc.sources {
			t.Errorf("%s: sources %v, want %s", tc.url, names, tc.sources)
		}
		it, created, err := st.Enqueue(ctx, &ad)
		if err != nil || created || it.AdID != tc.decided || it.Status != lokerwatch.StatusDecided {
			t.Errorf("%s: enqueue gave %+v (created %v, %v); want the decided item", tc.url, it, created, err)
		}
	}
	m := 0
	if err := st.ScanAds(ctx, storage.AdFilter{}, func(*lokerwatch.Ad) error { m++; return nil }); err != nil || m != n {
		t.Errorf("after new sightings: %d ads (%v), want still %d", m, err, n)
	}
}
