-- Personas (an incremental union-find over ads) and investigators' cases.
-- Numbered 0003 so that it follows other migrations merged at the same time.

-- Every ad in a persona, labelled with its persona's current ID: a merge
-- relabels the smaller persona's rows, so reads never chase parents.
CREATE TABLE IF NOT EXISTS persona_ads (
	seq     INTEGER PRIMARY KEY, -- join order, for a stable listing
	ad_id   TEXT NOT NULL UNIQUE,
	persona TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS persona_ads_persona ON persona_ads(persona, seq);

-- The strong keys (phone, account, wallet, …) a persona holds.
CREATE TABLE IF NOT EXISTS persona_keys (
	kind    TEXT NOT NULL,
	value   TEXT NOT NULL,
	persona TEXT NOT NULL,
	PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS persona_keys_persona ON persona_keys(persona);

CREATE TABLE IF NOT EXISTS personas (
	id         TEXT PRIMARY KEY,
	size       INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	stats      TEXT NOT NULL -- {"categories":{…},"sources":{…}}
) WITHOUT ROWID;

-- A merged persona's ID points at the persona it is part of now (one hop:
-- merges rewrite older forwards).
CREATE TABLE IF NOT EXISTS persona_merged (
	id      TEXT PRIMARY KEY,
	into_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS persona_merged_into ON persona_merged(into_id);

CREATE TABLE IF NOT EXISTS cases (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	title      TEXT NOT NULL,
	status     TEXT NOT NULL,
	assignee   TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS case_items (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id INTEGER NOT NULL REFERENCES cases(id),
	kind    TEXT NOT NULL,
	ref     TEXT NOT NULL,
	by_user TEXT NOT NULL,
	added   INTEGER NOT NULL,
	UNIQUE (case_id, kind, ref)
);

CREATE TABLE IF NOT EXISTS case_notes (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id INTEGER NOT NULL REFERENCES cases(id),
	author  TEXT NOT NULL,
	time    INTEGER NOT NULL,
	text    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_notes_case ON case_notes(case_id, seq);
