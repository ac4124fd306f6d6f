// Package sqlite is the embedded default store: one SQLite file (pure Go,
// modernc.org/sqlite, no cgo) holding the frontier, ads, review queue,
// evidence, audit log and users.
//
// All writes go through one connection whose transactions begin IMMEDIATE,
// so every read-modify-write (claims, decisions, enqueues) is serialised and
// race-free within a process, and other processes on the same file wait on
// busy_timeout instead of failing. Reads use a separate pool and, in WAL
// mode, never wait for writers. Checkpoints run on a connection of their
// own, off the write path (checkpoint.go).
//
// synchronous=NORMAL: a commit is written to the WAL but not fsynced, so a
// committed change survives a crash of the process (the OS has it), and a
// crash of the machine or a power cut never corrupts the file but may lose
// the changes committed since the last checkpoint, which fsyncs the WAL —
// within checkpointPages of WAL, or checkpointIdle after writes pause.
// synchronous=FULL would fsync every commit, milliseconds per write on a
// busy disk, to keep those last seconds of writes through a power cut.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lokerwatch/lokerwatch/storage"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaVersion is the version of the base schema below; later changes are
// numbered migrations (migrations.go). The version is PRAGMA user_version.
const schemaVersion = 1

// Store is a storage.Store on one SQLite file.
type Store struct {
	path string
	w    *sql.DB // one connection, IMMEDIATE transactions
	r    *sql.DB // readers
	// now is the clock; tests of this package may replace it.
	now func() time.Time

	// Statements prepared once on the writer connection: parsing SQL is
	// about half the cost of a small transaction in the pure-Go SQLite.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt

	// urlIndex: ad_urls has rows (a store migrated from schema version 1);
	// only then does PutAd look an ad's URL up there. Rows are only
	// added by that migration, which runs before anything else.
	urlIndex bool

	// ckpt checkpoints the WAL off the write path (nil in memory).
	ckpt *checkpointer
}

// txn is a write transaction whose statements come from the cache.
type txn struct {
	*sql.Tx
	s       *Store
	pending []string // statements to prepare after the transaction
}

// cached returns the prepared statement for q, or nil when q was not
// prepared yet; then q is noted and prepared after the transaction, when the
// one writer connection is free again (preparing on the pool while a
// transaction holds that connection would wait forever).
func (t *txn) cached(q string) *sql.Stmt {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if st, ok := t.s.stmts[q]; ok {
		return st
	}
	t.pending = append(t.pending, q)
	return nil
}

func (s *Store) prepare(ctx context.Context, qs []string) {
	for _, q := range qs {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			continue // it ran fine unprepared; it will be tried again
		}
		s.mu.Lock()
		if s.stmts == nil {
			s.stmts = map[string]*sql.Stmt{}
		}
		if _, dup := s.stmts[q]; dup {
			st.Close()
		} else {
			s.stmts[q] = st
		}
		s.mu.Unlock()
	}
}

func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.cached(q); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.cached(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.cached(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

var _ storage.Store = (*Store)(nil)

// MemoryPath opens a private in-memory store (for tests and demos).
const MemoryPath = ":memory:"

// OpenURL opens the store named by a store URL: "sqlite:PATH" (relative or
// absolute), "sqlite://PATH" or "sqlite::memory:".
func OpenURL(ctx context.Context, storeURL string) (*Store, error) {
	path, ok := strings.CutPrefix(storeURL, "sqlite:")
	if !ok {
		return nil, fmt.Errorf("store URL %q: not a sqlite URL (want sqlite:PATH, e.g. sqlite:./lokerwatch.db)", storeURL)
	}
	// sqlite:///abs/x.db and sqlite://./x.db are common spellings of the same.
	if rest, ok := strings.CutPrefix(path, "//"); ok {
		path = rest
	}
	if path == "" {
		return nil, fmt.Errorf("store URL %q: missing file path (want sqlite:PATH, e.g. sqlite:./lokerwatch.db)", storeURL)
	}
	return Open(ctx, path)
}

// Open opens (creating when missing) the store at path and brings its schema
// up to date. The directory must exist. path ":memory:" gives a private
// in-memory store.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("path must not contain '?' or '#'")
	}
	s := &Store{path: path, now: time.Now}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	if path == MemoryPath {
		// One connection is the whole database; reads share it.
		db, err := sql.Open("sqlite", path+"?"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.w, s.r = db, db
	} else {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return nil, errors.New("is a directory, want a database file")
		}
		dir := filepath.Dir(path)
		if fi, err := os.Stat(dir); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("directory %q does not exist", dir)
			}
			return nil, err
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("%q is not a directory", dir)
		}
		useFdatasync()
		w, err := sql.Open("sqlite", path+"?"+pragmas+
			"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"+
			fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)", walBackstopPages, walSizeLimit))
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		s.w = w
	}
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.createLiveness(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ad_urls)`).Scan(&s.urlIndex); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r == nil {
		r, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			s.w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		s.r = r
		if err := r.PingContext(ctx); err != nil {
			s.Close()
			return nil, err
		}
		c, err := startCheckpointer(path, path+"?"+pragmas+"&_pragma=synchronous(NORMAL)")
		if err != nil {
			s.Close()
			return nil, err
		}
		s.ckpt = c
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, "migrate schema", func(tx *txn) error {
		var v int
		// Plain (uncached) statements: the schema is many statements in one.
		if err := tx.Tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		latest := latestVersion()
		if v > latest {
			return fmt.Errorf("schema version %d is newer than this lokerwatch understands (%d); upgrade lokerwatch", v, latest)
		}
		if v == latest {
			return nil
		}
		if v < schemaVersion {
			if _, err := tx.Tx.ExecContext(ctx, schema); err != nil {
				return err
			}
		}
		if err := applyMigrations(ctx, tx, v); err != nil {
			return err
		}
		_, err := tx.Tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest))
		return err
	})
}

// Path is the database file (or ":memory:").
func (s *Store) Path() string { return s.path }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite store %q: %w", s.path, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	var err error
	if s.ckpt != nil {
		err = s.ckpt.close()
	}
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	// The writer last: the last connection to close checkpoints the WAL.
	return errors.Join(err, s.w.Close())
}

// write runs fn in an IMMEDIATE transaction on the writer connection.
func (s *Store) write(ctx context.Context, what string, fn func(tx *txn) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	tx := &txn{Tx: sqlTx, s: s}
	err = fn(tx)
	if err != nil {
		tx.Rollback()
		err = fmt.Errorf("%s: %w", what, err)
	} else if err = tx.Commit(); err != nil {
		err = fmt.Errorf("%s: commit: %w", what, err)
	} else if s.ckpt != nil {
		s.ckpt.poke()
	}
	if len(tx.pending) > 0 {
		s.prepare(context.WithoutCancel(ctx), tx.pending)
	}
	return err
}

// Times are stored as Unix nanoseconds; 0 is the zero time.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostOf is the politeness key of a URL: lower-case host[:port].
func hostOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	return strings.ToLower(u.Host), nil
}

// schema is version 1, as the first release made it; never edit it (add a
// migration instead), so that new and migrated stores are the same.
const schema = `
CREATE TABLE IF NOT EXISTS frontier (
	url           TEXT PRIMARY KEY,
	host          TEXT NOT NULL,
	source        TEXT NOT NULL DEFAULT '',
	depth         INTEGER NOT NULL DEFAULT 0,
	kind          TEXT NOT NULL DEFAULT '',
	revisit       INTEGER NOT NULL DEFAULT 0,
	state         TEXT NOT NULL, -- queued, inflight, done, failed, dead
	not_before    INTEGER NOT NULL DEFAULT 0,
	ready_at      INTEGER NOT NULL DEFAULT 0, -- max(queued, not_before, back-off)
	queued_at     INTEGER NOT NULL DEFAULT 0,
	attempts      INTEGER NOT NULL DEFAULT 0,
	etag          TEXT NOT NULL DEFAULT '',
	last_modified TEXT NOT NULL DEFAULT '',
	token         TEXT NOT NULL DEFAULT '',
	worker        TEXT NOT NULL DEFAULT '',
	lease_until   INTEGER NOT NULL DEFAULT 0,
	reason        TEXT NOT NULL DEFAULT '',
	failed_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS frontier_ready ON frontier(host, ready_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS frontier_state ON frontier(state, queued_at);
CREATE INDEX IF NOT EXISTS frontier_lease ON frontier(lease_until) WHERE state = 'inflight';
CREATE INDEX IF NOT EXISTS frontier_failed ON frontier(failed_at) WHERE state IN ('failed', 'dead');

-- URLs per state, kept by triggers so that stats never count the table.
CREATE TABLE IF NOT EXISTS frontier_counts (
	state TEXT PRIMARY KEY,
	n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO frontier_counts (state, n) VALUES ('queued', 0), ('inflight', 0), ('done', 0), ('failed', 0), ('dead', 0);
CREATE TRIGGER IF NOT EXISTS frontier_count_insert AFTER INSERT ON frontier BEGIN
	UPDATE frontier_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS frontier_count_update AFTER UPDATE OF state ON frontier WHEN OLD.state != NEW.state BEGIN
	UPDATE frontier_counts SET n = n - 1 WHERE state = OLD.state;
	UPDATE frontier_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS frontier_count_delete AFTER DELETE ON frontier BEGIN
	UPDATE frontier_counts SET n = n - 1 WHERE state = OLD.state;
END;

-- One row per host: the politeness schedule.
CREATE TABLE IF NOT EXISTS hosts (
	host       TEXT PRIMARY KEY,
	busy       INTEGER NOT NULL DEFAULT 0, -- live leases of its turn (ClaimRequests); free at 0
	rest_until INTEGER NOT NULL DEFAULT 0, -- host delay after the last fetch
	next_ready INTEGER                     -- earliest ready_at of its queued requests; NULL when none
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hosts_ready ON hosts(next_ready) WHERE busy = 0 AND next_ready IS NOT NULL;

CREATE TABLE IF NOT EXISTS robots (
	key     TEXT PRIMARY KEY,
	body    BLOB,
	status  INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ads (
	id           TEXT PRIMARY KEY,
	source       TEXT NOT NULL,
	flagged      INTEGER NOT NULL,
	score        INTEGER NOT NULL,
	first_seen   INTEGER NOT NULL,
	last_seen    INTEGER NOT NULL,
	content_hash TEXT NOT NULL,
	data         BLOB NOT NULL -- the ad as JSON, assessment included
);
CREATE INDEX IF NOT EXISTS ads_seen ON ads(last_seen, id);
CREATE INDEX IF NOT EXISTS ads_source ON ads(source, last_seen, id);
CREATE INDEX IF NOT EXISTS ads_flagged ON ads(flagged, last_seen, id);

CREATE TABLE IF NOT EXISTS ad_keys (
	kind  TEXT NOT NULL,
	value TEXT NOT NULL,
	ad_id TEXT NOT NULL REFERENCES ads(id) ON DELETE CASCADE,
	PRIMARY KEY (kind, value, ad_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ad_keys_ad ON ad_keys(ad_id);

CREATE TABLE IF NOT EXISTS review_items (
	id          TEXT PRIMARY KEY,
	ad_id       TEXT NOT NULL UNIQUE,
	url         TEXT NOT NULL DEFAULT '',
	title       TEXT NOT NULL DEFAULT '',
	source      TEXT NOT NULL DEFAULT '',
	lang        TEXT NOT NULL DEFAULT '',
	score       INTEGER NOT NULL DEFAULT 0,
	category    TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL, -- pending, claimed, decided
	created_at  INTEGER NOT NULL,
	claimant    TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	verdict     TEXT NOT NULL DEFAULT '',
	reviewer    TEXT NOT NULL DEFAULT '',
	decided_at  INTEGER NOT NULL DEFAULT 0,
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS review_prio ON review_items(status, score DESC, created_at, id);
CREATE INDEX IF NOT EXISTS review_lease ON review_items(lease_until) WHERE status = 'claimed';

CREATE TABLE IF NOT EXISTS decisions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	item_id    TEXT NOT NULL REFERENCES review_items(id),
	ad_id      TEXT NOT NULL,
	verdict    TEXT NOT NULL,
	reviewer   TEXT NOT NULL,
	note       TEXT NOT NULL DEFAULT '',
	decided_at INTEGER NOT NULL,
	amend      INTEGER NOT NULL DEFAULT 0,
	remote     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions(item_id, id);

CREATE TABLE IF NOT EXISTS audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	time   INTEGER NOT NULL,
	actor  TEXT NOT NULL DEFAULT '',
	action TEXT NOT NULL,
	object TEXT NOT NULL DEFAULT '',
	remote TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_object ON audit(object, id);
CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, id);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);

CREATE TABLE IF NOT EXISTS evidence (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL,
	captured_at INTEGER NOT NULL,
	digest      TEXT NOT NULL,
	warc        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence_ads (
	ad_id       TEXT NOT NULL,
	evidence_id TEXT NOT NULL REFERENCES evidence(id) ON DELETE CASCADE,
	pos         INTEGER NOT NULL DEFAULT 0, -- order of AdIDs in the record
	PRIMARY KEY (ad_id, evidence_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS evidence_ads_evidence ON evidence_ads(evidence_id);

CREATE TABLE IF NOT EXISTS users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sessions (
	id         TEXT PRIMARY KEY,
	user       TEXT NOT NULL,
	csrf       TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires    INTEGER NOT NULL DEFAULT 0,
	token      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`
