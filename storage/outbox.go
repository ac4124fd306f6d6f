package storage

import (
	"context"
	"time"
)

// AlertState is where an alert in the outbox stands.
type AlertState string

const (
	AlertPending AlertState = "pending" // to be sent (now, or after NotBefore)
	AlertSent    AlertState = "sent"    // delivered; kept as the marker that stops a second send
	AlertDead    AlertState = "dead"    // given up (attempts exhausted or refused for good)
)

// Alert is one notification of one review item on one channel, waiting in
// the durable outbox. Key is unique: an alert added twice (the item queued
// again, a page crawled again, a process restarted) is kept once, and one
// sent stays sent.
type Alert struct {
	Key     string `json:"key"`     // e.g. "<item id>/webhook"
	Channel string `json:"channel"` // "webhook" or "telegram"
	ItemID  string `json:"item_id"`
	// Payload is what is sent, frozen when the alert was added.
	Payload   []byte     `json:"payload"`
	State     AlertState `json:"state"`
	Attempts  int        `json:"attempts"` // failed tries so far
	NotBefore time.Time  `json:"not_before,omitzero"`
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    time.Time  `json:"sent_at,omitzero"`
	// Token is the claim's token while a sender holds the alert.
	Token string `json:"-"`
}

// AlertStats counts the outbox by state.
type AlertStats struct {
	Pending int64 `json:"pending"`
	Sent    int64 `json:"sent"`
	Dead    int64 `json:"dead"`
}

// Outbox is the durable queue of alerts (package notify). Senders in any
// number of processes share it: an alert is claimed with a lease before it
// is sent, so two senders never hold it at once, and a sender that dies
// leaves it to be claimed again when the lease ends.
type Outbox interface {
	// AddAlerts adds the alerts whose key is not in the outbox yet, in any
	// state, as pending and due now, and returns the keys it added.
	AddAlerts(ctx context.Context, alerts []Alert) (added []string, err error)
	// DueAlerts returns up to limit keys of pending alerts that are due
	// (NotBefore passed and not held by a live claim), oldest due first.
	DueAlerts(ctx context.Context, limit int) ([]string, error)
	// ClaimAlert takes the alert for ttl if it is pending and due; it
	// returns lokerwatch.ErrEmpty when it is not (sent, dead, held, or
	// waiting for a retry) and lokerwatch.ErrNotFound when key is unknown.
	ClaimAlert(ctx context.Context, key string, ttl time.Duration) (*Alert, error)
	// AlertSent marks a claimed alert sent. It wraps lokerwatch.ErrLeaseLost
	// when the claim (a.Token) is no longer the holder.
	AlertSent(ctx context.Context, a *Alert) error
	// RetryAlert gives a claimed alert back as pending after delay (store
	// clock), one attempt more, with the reason of the failure.
	RetryAlert(ctx context.Context, a *Alert, delay time.Duration, reason string) error
	// AlertDead gives a claimed alert up, with the reason.
	AlertDead(ctx context.Context, a *Alert, reason string) error
	// GetAlert returns an alert by key (lokerwatch.ErrNotFound).
	GetAlert(ctx context.Context, key string) (*Alert, error)
	AlertStats(ctx context.Context) (AlertStats, error)
}
