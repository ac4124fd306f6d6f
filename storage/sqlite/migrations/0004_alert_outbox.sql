-- The alert outbox (package notify): one row per review item and channel,
-- kept after it is sent so that the item is never announced twice.
CREATE TABLE IF NOT EXISTS alerts (
	key        TEXT PRIMARY KEY,
	channel    TEXT NOT NULL,
	item_id    TEXT NOT NULL,
	payload    BLOB NOT NULL,
	state      TEXT NOT NULL DEFAULT 'pending', -- pending, sent, dead
	attempts   INTEGER NOT NULL DEFAULT 0,
	not_before INTEGER NOT NULL DEFAULT 0,      -- unix ns: due time, or end of the claim
	token      TEXT NOT NULL DEFAULT '',
	last_error TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	sent_at    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_due ON alerts(state, not_before);
