package storagetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

var robotsTests = []test{
	{"TTL", testRobotsTTL},
}

var auditTests = []test{
	{"AppendList", testAuditAppendList},
	{"ConcurrentAppend", testAuditConcurrent},
	{"NewestPage", testAuditNewest},
}

var evidenceTests = []test{
	{"RoundTrip", testEvidence},
}

var usersTests = []test{
	{"Users", testUsers},
	{"SessionsExpire", testSessions},
	{"ListSessions", testListSessions},
}

func testRobotsTTL(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, _, found, err := s.GetRobots(ctx, "https://none.example")
	must(t, err, "get absent robots")
	if found {
		t.Fatal("absent robots found")
	}
	body := []byte("User-agent: *\nDisallow: /private\nCrawl-delay: 2\n")
	must(t, s.PutRobots(ctx, "https://a.example", body, 200, time.Hour), "put")
	must(t, s.PutRobots(ctx, "http://b.example:8080", nil, 404, 500*time.Millisecond), "put short")
	got, status, found, err := s.GetRobots(ctx, "https://a.example")
	must(t, err, "get")
	if !found || status != 200 || !bytes.Equal(got, body) {
		t.Fatalf("robots = %q %d %v", got, status, found)
	}
	_, status, found, err = s.GetRobots(ctx, "http://b.example:8080")
	must(t, err, "get short")
	if !found || status != 404 {
		t.Fatalf("robots with short TTL = %d %v before it expired", status, found)
	}
	eventually(t, 5*time.Second, "the robots entry to expire", func() bool {
		_, _, found, err := s.GetRobots(ctx, "http://b.example:8080")
		must(t, err, "get")
		return !found
	})
	// Replacing an entry replaces body, status and TTL.
	must(t, s.PutRobots(ctx, "https://a.example", []byte("User-agent: *\nDisallow:\n"), 200, time.Hour), "replace")
	got, _, _, err = s.GetRobots(ctx, "https://a.example")
	must(t, err, "get replaced")
	if string(got) != "User-agent: *\nDisallow:\n" {
		t.Fatalf("replaced robots = %q", got)
	}
}

func testAuditAppendList(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	evs, err := s.ListAudit(ctx, storage.AuditFilter{})
	must(t, err, "list empty")
	if len(evs) != 0 {
		t.Fatalf("fresh store has audit events %v", evs)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	in := []lokerwatch.AuditEvent{
		{Time: base, Actor: "alice", Action: "user.login", Object: "alice", Remote: "192.0.2.1"},
		{Time: base.Add(time.Minute), Actor: "admin", Action: "purge", Object: "ad-1", Detail: "retention"},
		{Time: base.Add(2 * time.Minute), Actor: "alice", Action: "export", Object: "case-7", Detail: "wacz"},
		{Actor: "bob", Action: "user.login", Object: "bob"}, // Time set by the store
	}
	for _, ev := range in {
		must(t, s.AppendAudit(ctx, ev), "append")
	}
	all, err := s.ListAudit(ctx, storage.AuditFilter{})
	must(t, err, "list")
	if len(all) != len(in) {
		t.Fatalf("listed %d events, want %d", len(all), len(in))
	}
	ids := map[string]bool{}
	for i, e := range all {
		if e.ID == "" || ids[e.ID] {
			t.Fatalf("event %d has empty or repeated ID %q", i, e.ID)
		}
		ids[e.ID] = true
		want := in[i]
		if e.Actor != want.Actor || e.Action != want.Action || e.Object != want.Object || e.Remote != want.Remote || e.Detail != want.Detail {
			t.Fatalf("event %d = %+v, want %+v", i, e, want)
		}
		if !want.Time.IsZero() && !e.Time.Equal(want.Time) {
			t.Fatalf("event %d time = %v, want %v", i, e.Time, want.Time)
		}
	}
	if !near(all[3].Time, time.Now(), time.Minute) {
		t.Fatalf("store did not stamp a zero Time: %v", all[3].Time)
	}
	for _, tc := range []struct {
		name string
		f    storage.AuditFilter
		want []string // actions
	}{
		{"actor", storage.AuditFilter{Actor: "alice"}, []string{"user.login", "export"}},
		{"object", storage.AuditFilter{Object: "ad-1"}, []string{"purge"}},
		{"since", storage.AuditFilter{Since: base.Add(time.Minute)}, []string{"purge", "export", "user.login"}},
		{"limit keeps the oldest", storage.AuditFilter{Limit: 2}, []string{"user.login", "purge"}},
		{"actor and limit", storage.AuditFilter{Actor: "alice", Limit: 1}, []string{"user.login"}},
		{"none", storage.AuditFilter{Actor: "nobody"}, nil},
	} {
		evs, err := s.ListAudit(ctx, tc.f)
		must(t, err, "list "+tc.name)
		var got []string
		for _, e := range evs {
			got = append(got, e.Action)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListAudit %s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testAuditConcurrent(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const writers, each = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := lokerwatch.AuditEvent{Actor: fmt.Sprint("w", w), Action: "test", Object: fmt.Sprint(i)}
				if err := s.AppendAudit(ctx, ev); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	evs, err := s.ListAudit(ctx, storage.AuditFilter{})
	must(t, err, "list")
	if len(evs) != writers*each {
		t.Fatalf("%d events, want %d: appends were lost", len(evs), writers*each)
	}
	// Per writer, events come back in the order they were appended.
	next := map[string]int{}
	for _, e := range evs {
		if e.Object != fmt.Sprint(next[e.Actor]) {
			t.Fatalf("writer %s: event %s out of order (want %d)", e.Actor, e.Object, next[e.Actor])
		}
		next[e.Actor]++
	}
}

func testEvidence(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.GetEvidence(ctx, "<urn:uuid:none>")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown evidence")

	warc := []byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0xff, 0x00, 0x01, 0x02} // binary, with NUL bytes
	r1 := &storage.EvidenceRecord{
		ID: "<urn:uuid:11111111-1111-1111-1111-111111111111>", URL: "https://t.me/s/lokerln",
		AdIDs: []string{"ad-1", "ad-2"}, CapturedAt: t0.Add(time.Hour), WARC: warc, Digest: "sha256:abc",
	}
	r2 := &storage.EvidenceRecord{
		ID: "<urn:uuid:22222222-2222-2222-2222-222222222222>", URL: "https://t.me/s/lokerln?before=10",
		AdIDs: []string{"ad-2"}, CapturedAt: t0, WARC: []byte("WARC/1.1\r\n"), Digest: "sha256:def",
	}
	must(t, s.PutEvidence(ctx, r1), "put r1")
	must(t, s.PutEvidence(ctx, r2), "put r2")

	got, err := s.GetEvidence(ctx, r1.ID)
	must(t, err, "get")
	if got.ID != r1.ID || got.URL != r1.URL || !slices.Equal(got.AdIDs, r1.AdIDs) || !got.CapturedAt.Equal(r1.CapturedAt) ||
		!bytes.Equal(got.WARC, warc) || got.Digest != r1.Digest {
		t.Fatalf("evidence = %+v, want %+v", got, r1)
	}
	list, err := s.EvidenceForAd(ctx, "ad-2")
	must(t, err, "evidence for ad")
	if len(list) != 2 || list[0].ID != r2.ID || list[1].ID != r1.ID {
		t.Fatalf("evidence for ad-2 = %v, want r2 then r1 (oldest first)", list)
	}
	if !bytes.Equal(list[1].WARC, warc) {
		t.Fatal("EvidenceForAd lost the WARC bytes")
	}
	list, err = s.EvidenceForAd(ctx, "ad-none")
	must(t, err, "evidence for unknown ad")
	if len(list) != 0 {
		t.Fatalf("evidence for unknown ad = %v", list)
	}

	// Putting a record again replaces it, links included.
	r2b := *r2
	r2b.AdIDs = []string{"ad-2", "ad-3"}
	must(t, s.PutEvidence(ctx, &r2b), "replace r2")
	if list, err = s.EvidenceForAd(ctx, "ad-3"); err != nil || len(list) != 1 || list[0].ID != r2.ID {
		t.Fatalf("evidence for ad-3 after replace = %v, %v", list, err)
	}
	if err := s.PutEvidence(ctx, &storage.EvidenceRecord{URL: "x"}); err == nil {
		t.Error("put evidence without ID succeeded")
	}

	must(t, s.DeleteEvidence(ctx, r1.ID), "delete")
	_, err = s.GetEvidence(ctx, r1.ID)
	wantErr(t, err, lokerwatch.ErrNotFound, "get deleted evidence")
	list, err = s.EvidenceForAd(ctx, "ad-1")
	must(t, err, "evidence for ad-1")
	if len(list) != 0 {
		t.Fatalf("deleted evidence still listed for ad-1: %v", list)
	}
	list, err = s.EvidenceForAd(ctx, "ad-2")
	must(t, err, "evidence for ad-2")
	if len(list) != 1 || list[0].ID != r2.ID {
		t.Fatalf("evidence for ad-2 after delete = %v", list)
	}
}

func testUsers(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.GetUser(ctx, "nobody")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown user")
	users, err := s.ListUsers(ctx)
	must(t, err, "list empty")
	if len(users) != 0 {
		t.Fatalf("fresh store has users %v", users)
	}
	hash := "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"
	must(t, s.PutUser(ctx, &storage.User{Name: "siti", Role: storage.RoleAnalyst, PasswordHash: hash, CreatedAt: t0}), "put siti")
	must(t, s.PutUser(ctx, &storage.User{Name: "budi", Role: storage.RoleAdmin, PasswordHash: "h2", CreatedAt: t0}), "put budi")
	u, err := s.GetUser(ctx, "siti")
	must(t, err, "get")
	if u.Name != "siti" || u.Role != storage.RoleAnalyst || u.PasswordHash != hash || !u.CreatedAt.Equal(t0) || u.Disabled {
		t.Fatalf("user = %+v", u)
	}
	must(t, s.PutUser(ctx, &storage.User{Name: "siti", Role: storage.RoleInvestigator, PasswordHash: "new", CreatedAt: t0, Disabled: true}), "update")
	u, err = s.GetUser(ctx, "siti")
	must(t, err, "get updated")
	if u.Role != storage.RoleInvestigator || u.PasswordHash != "new" || !u.Disabled {
		t.Fatalf("updated user = %+v", u)
	}
	if err := s.PutUser(ctx, &storage.User{Role: storage.RoleAdmin}); err == nil {
		t.Error("put user without name succeeded")
	}
	users, err = s.ListUsers(ctx)
	must(t, err, "list")
	if len(users) != 2 || users[0].Name != "budi" || users[1].Name != "siti" || users[0].PasswordHash != "h2" {
		t.Fatalf("ListUsers = %+v, want budi, siti", users)
	}
}

func testSessions(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.GetSession(ctx, "none")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown session")
	now := time.Now().Truncate(time.Millisecond)
	long := &storage.Session{ID: "h-long", User: "siti", CSRF: "csrf1", CreatedAt: now, Expires: now.Add(time.Hour)}
	short := &storage.Session{ID: "h-short", User: "siti", CreatedAt: now, Expires: now.Add(500 * time.Millisecond)}
	token := &storage.Session{ID: "h-token", User: "budi", CreatedAt: now, Token: true}
	for _, ss := range []*storage.Session{long, short, token} {
		must(t, s.PutSession(ctx, ss), "put session")
	}
	got, err := s.GetSession(ctx, "h-long")
	must(t, err, "get")
	if got.User != "siti" || got.CSRF != "csrf1" || !got.CreatedAt.Equal(now) || !got.Expires.Equal(long.Expires) || got.Token {
		t.Fatalf("session = %+v, want %+v", got, long)
	}
	_, err = s.GetSession(ctx, "h-short")
	must(t, err, "get short before expiry")
	eventually(t, 5*time.Second, "the short session to expire", func() bool {
		_, err := s.GetSession(ctx, "h-short")
		if err == nil {
			return false
		}
		wantErr(t, err, lokerwatch.ErrNotFound, "get expired session")
		return true
	})
	got, err = s.GetSession(ctx, "h-token")
	must(t, err, "get token")
	if !got.Token || !got.Expires.IsZero() {
		t.Fatalf("token session = %+v", got)
	}
	must(t, s.DeleteSession(ctx, "h-long"), "delete")
	_, err = s.GetSession(ctx, "h-long")
	wantErr(t, err, lokerwatch.ErrNotFound, "get deleted session")
}

func testListSessions(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	now := time.Now().Truncate(time.Millisecond)
	for i, ss := range []*storage.Session{
		{ID: "l-1", User: "siti", CreatedAt: now, Expires: now.Add(time.Hour)},
		{ID: "l-2", User: "siti", CreatedAt: now.Add(time.Second), Expires: now.Add(24 * time.Hour), Token: true},
		{ID: "l-3", User: "budi", CreatedAt: now, Token: true},
		{ID: "l-4", User: "siti", CreatedAt: now, Expires: now.Add(-time.Minute)},
	} {
		must(t, s.PutSession(ctx, ss), fmt.Sprint("put session ", i))
	}
	got, err := s.ListSessions(ctx, "siti")
	must(t, err, "list sessions")
	if len(got) != 2 || got[0].ID != "l-1" || got[1].ID != "l-2" || !got[1].Token || !got[1].Expires.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("sessions of siti = %+v, want l-1 then the token l-2 (not budi's, not the expired one)", got)
	}
	must(t, s.DeleteSession(ctx, "l-2"), "delete")
	if got, _ := s.ListSessions(ctx, "siti"); len(got) != 1 {
		t.Fatalf("after delete: %+v", got)
	}
	if got, err := s.ListSessions(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Fatalf("sessions of nobody = %+v, %v", got, err)
	}
}

func testAuditNewest(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 1200 {
		actor := "a"
		if i%2 == 1 {
			actor = "b"
		}
		must(t, s.AppendAudit(ctx, lokerwatch.AuditEvent{Time: base.Add(time.Duration(i) * time.Millisecond), Actor: actor,
			Action: "test", Object: fmt.Sprint("n", i%3)}), "append")
	}
	got, err := s.ListAudit(ctx, storage.AuditFilter{Limit: 10, Newest: true})
	must(t, err, "newest")
	if len(got) != 10 || got[0].Object != fmt.Sprint("n", 1199%3) || !got[0].Time.Equal(base.Add(1199*time.Millisecond)) ||
		!got[9].Time.Equal(base.Add(1190*time.Millisecond)) {
		t.Fatalf("newest 10 = %+v", got)
	}
	got, err = s.ListAudit(ctx, storage.AuditFilter{Limit: 3, Newest: true, Actor: "a", Since: base.Add(1100 * time.Millisecond)})
	must(t, err, "newest by actor")
	if len(got) != 3 || !got[0].Time.Equal(base.Add(1198*time.Millisecond)) || got[2].Actor != "a" {
		t.Fatalf("newest 3 of a = %+v", got)
	}
	got, err = s.ListAudit(ctx, storage.AuditFilter{Limit: 2, Newest: true, Object: "n0"})
	must(t, err, "newest of object")
	if len(got) != 2 || !got[0].Time.Equal(base.Add(1197*time.Millisecond)) || !got[1].Time.Equal(base.Add(1194*time.Millisecond)) {
		t.Fatalf("newest 2 of n0 = %+v", got)
	}
	got, err = s.ListAudit(ctx, storage.AuditFilter{Newest: true, Since: base.Add(1195 * time.Millisecond)})
	must(t, err, "newest since")
	if len(got) != 5 {
		t.Fatalf("newest since: %d events, want 5", len(got))
	}
}
