package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Outbox: AddAlerts keeps the first alert of a key whatever its state (a
// sent alert is the marker that stops a second send); a claim holds an
// alert until its lease ends; AlertSent, RetryAlert and AlertDead need the
// claim's token and return ErrLeaseLost without it.
var outboxTests = []test{
	{"AddOnceWhateverTheState", testOutboxAddOnce},
	{"ClaimSendRetryDead", testOutboxLifecycle},
	{"LeaseEnds", testOutboxLeaseEnds},
}

func alertFor(item, channel string) storage.Alert {
	return storage.Alert{Key: item + "/" + channel, Channel: channel, ItemID: item, Payload: []byte(`{"item":"` + item + `","bin":"\u0000é"}`)}
}

func testOutboxAddOnce(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	added, err := s.AddAlerts(ctx, []storage.Alert{alertFor("i1", "webhook"), alertFor("i1", "telegram")})
	must(t, err, "add alerts")
	if !slices.Equal(added, []string{"i1/webhook", "i1/telegram"}) {
		t.Fatalf("added %v, want both", added)
	}
	// Added again (the item queued again), with another payload: kept once, as first written.
	again := alertFor("i1", "webhook")
	again.Payload = []byte("other")
	added, err = s.AddAlerts(ctx, []storage.Alert{again, alertFor("i2", "webhook")})
	must(t, err, "add alerts again")
	if !slices.Equal(added, []string{"i2/webhook"}) {
		t.Fatalf("added %v, want only i2/webhook", added)
	}
	a, err := s.GetAlert(ctx, "i1/webhook")
	must(t, err, "get alert")
	if string(a.Payload) != string(alertFor("i1", "webhook").Payload) || a.State != storage.AlertPending || a.ItemID != "i1" || a.Channel != "webhook" {
		t.Fatalf("alert %+v: want the first payload, pending", a)
	}
	// Sent, then added again: still not added.
	c, err := s.ClaimAlert(ctx, "i1/webhook", time.Hour)
	must(t, err, "claim")
	must(t, s.AlertSent(ctx, c), "sent")
	added, err = s.AddAlerts(ctx, []storage.Alert{alertFor("i1", "webhook")})
	must(t, err, "add after sent")
	if len(added) != 0 {
		t.Fatalf("a sent alert was added again: %v", added)
	}
	if _, err := s.AddAlerts(ctx, []storage.Alert{{ItemID: "x"}}); err == nil {
		t.Fatal("an alert without key was accepted")
	}
	_, err = s.GetAlert(ctx, "nope")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown alert")
	_, err = s.ClaimAlert(ctx, "nope", time.Hour)
	wantErr(t, err, lokerwatch.ErrNotFound, "claim unknown alert")
}

func testOutboxLifecycle(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.AddAlerts(ctx, []storage.Alert{alertFor("a", "webhook"), alertFor("b", "webhook"), alertFor("c", "telegram")})
	must(t, err, "add")
	due, err := s.DueAlerts(ctx, 10)
	must(t, err, "due")
	slices.Sort(due)
	if !slices.Equal(due, []string{"a/webhook", "b/webhook", "c/telegram"}) {
		t.Fatalf("due %v", due)
	}
	if due, _ := s.DueAlerts(ctx, 2); len(due) != 2 {
		t.Fatalf("due with limit 2: %v", due)
	}
	a, err := s.ClaimAlert(ctx, "a/webhook", time.Hour)
	must(t, err, "claim a")
	if a.Token == "" || string(a.Payload) != string(alertFor("a", "webhook").Payload) {
		t.Fatalf("claimed %+v: want a token and the payload", a)
	}
	_, err = s.ClaimAlert(ctx, "a/webhook", time.Hour)
	wantErr(t, err, lokerwatch.ErrEmpty, "claim a held alert")
	if due, _ := s.DueAlerts(ctx, 10); slices.Contains(due, "a/webhook") {
		t.Fatalf("a held alert is due: %v", due)
	}
	// A stale token (another holder) changes nothing.
	stale := *a
	stale.Token = "stale"
	wantErr(t, s.AlertSent(ctx, &stale), lokerwatch.ErrLeaseLost, "sent with a stale token")
	wantErr(t, s.RetryAlert(ctx, &stale, 0, "x"), lokerwatch.ErrLeaseLost, "retry with a stale token")

	// A failed try: back, due at once (delay 0), one attempt counted.
	must(t, s.RetryAlert(ctx, a, 0, "connection refused"), "retry a")
	wantErr(t, s.AlertSent(ctx, a), lokerwatch.ErrLeaseLost, "sent after the claim was given back")
	got, err := s.GetAlert(ctx, "a/webhook")
	must(t, err, "get a")
	if got.Attempts != 1 || got.LastError != "connection refused" || got.State != storage.AlertPending {
		t.Fatalf("after a retry: %+v", got)
	}
	a, err = s.ClaimAlert(ctx, "a/webhook", time.Hour)
	must(t, err, "claim a again")
	must(t, s.AlertSent(ctx, a), "sent a")
	got, _ = s.GetAlert(ctx, "a/webhook")
	if got.State != storage.AlertSent || got.SentAt.IsZero() || got.Attempts != 1 {
		t.Fatalf("after sent: %+v", got)
	}
	_, err = s.ClaimAlert(ctx, "a/webhook", time.Hour)
	wantErr(t, err, lokerwatch.ErrEmpty, "claim a sent alert")

	// A retry far ahead is not due.
	b, err := s.ClaimAlert(ctx, "b/webhook", time.Hour)
	must(t, err, "claim b")
	must(t, s.RetryAlert(ctx, b, time.Hour, "HTTP 500"), "retry b")
	_, err = s.ClaimAlert(ctx, "b/webhook", time.Hour)
	wantErr(t, err, lokerwatch.ErrEmpty, "claim b before its retry time")

	// Given up.
	c, err := s.ClaimAlert(ctx, "c/telegram", time.Hour)
	must(t, err, "claim c")
	must(t, s.AlertDead(ctx, c, "HTTP 400: chat not found"), "dead c")
	got, _ = s.GetAlert(ctx, "c/telegram")
	if got.State != storage.AlertDead || got.LastError != "HTTP 400: chat not found" {
		t.Fatalf("after dead: %+v", got)
	}
	if due, _ := s.DueAlerts(ctx, 10); len(due) != 0 {
		t.Fatalf("due at the end: %v", due)
	}
	st, err := s.AlertStats(ctx)
	must(t, err, "stats")
	if st != (storage.AlertStats{Pending: 1, Sent: 1, Dead: 1}) {
		t.Fatalf("stats %+v, want 1 pending, 1 sent, 1 dead", st)
	}
}

func testOutboxLeaseEnds(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.AddAlerts(ctx, []storage.Alert{alertFor("z", "webhook")})
	must(t, err, "add")
	if _, err := s.ClaimAlert(ctx, "z/webhook", 0); err == nil || errors.Is(err, lokerwatch.ErrEmpty) {
		t.Fatalf("claim with a lease of 0: %v, want an error that is not ErrEmpty", err)
	}
	first, err := s.ClaimAlert(ctx, "z/webhook", 300*time.Millisecond)
	must(t, err, "claim")
	// A sender that died: the alert comes back when its lease ends.
	var second *storage.Alert
	eventually(t, 30*time.Second, "the alert to be claimable again", func() bool {
		second, err = s.ClaimAlert(ctx, "z/webhook", time.Hour)
		return err == nil
	})
	wantErr(t, s.AlertSent(ctx, first), lokerwatch.ErrLeaseLost, "sent by the sender whose lease ended")
	must(t, s.AlertSent(ctx, second), "sent by the new holder")
}
