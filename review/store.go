package review

import (
	"context"

	"github.com/lokerwatch/lokerwatch/storage"
)

// Store is what the review desk needs from a store: the queue, the ads and
// their link index, the audit log, accounts and sessions, and the captures.
// storage/sqlite and storage/redis both satisfy it.
type Store interface {
	storage.ReviewQueue
	storage.Ads
	storage.Audit
	storage.Users
	storage.Evidence
	storage.Personas
	storage.Cases
	// Ping reports whether the store is reachable (/readyz).
	Ping(ctx context.Context) error
}

// Every full store is a review desk store.
var _ Store = storage.Store(nil)
