package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"
)

// Checkpoints run beside the writer, not inside its commits.
//
// In WAL mode a commit appends pages to the -wal file; a checkpoint copies
// them back into the database file and syncs both (under
// synchronous=NORMAL the only syncs there are, bar one when the WAL
// restarts). SQLite's default runs the checkpoint inside whichever commit
// takes the WAL past 1,000 pages, so one write in a few dozen paid
// milliseconds to tens of milliseconds of copying and syncing on a busy
// disk: the tail of "new ad → persona" (README, Investigation speed).
//
// Here a checkpointer with a connection of its own watches the WAL after
// each commit and runs a PASSIVE checkpoint, which neither waits for nor
// blocks the writer and the readers, once checkpointPages pages wait to be
// copied, and once more when writes pause. The writer's autocheckpoint
// stays on as a backstop at walBackstopPages: it fires only when the
// checkpointer falls behind, or when writes follow each other so closely
// that no checkpoint ever catches up with them and the WAL never restarts
// (a WAL restarts — is overwritten from its start — at the first write
// after a checkpoint has copied all of it).
const (
	// checkpointPages is the pages waiting in the WAL that start a
	// checkpoint: SQLite's default autocheckpoint, so the WAL restarts
	// (and the write that restarts it syncs its header) as often as it did.
	checkpointPages = 1000
	// walBackstopPages is the writer's own autocheckpoint (of the page
	// size, 4 KiB by default: 40 MiB of WAL at most, bar huge transactions).
	walBackstopPages = 10_000
	// walSizeLimit truncates a WAL that grew past it when it restarts.
	walSizeLimit = 64 << 20
	// checkpointIdle: writes that paused this long are checkpointed, so
	// that they are synced to disk (a power cut loses no more) and in the
	// database file. Not shorter: the next write restarts the WAL and syncs
	// its header, which a slow stream of writes would then pay each time.
	checkpointIdle = 10 * time.Second
)

// syncData makes SQLite sync with fdatasync(2) as its Linux builds do: the
// library transpiled into modernc.org/sqlite keeps SQLite's source default,
// fsync(2), which also forces the file's timestamps through the file
// system's journal on every sync. Durability is the same. It is
// process-wide; a platform without fdatasync keeps fsync.
var syncData sync.Once

func useFdatasync() {
	syncData.Do(func() { msqlite.Fdatasync(true) }) // the error: unavailable, fsync stays
}

// checkpointer runs PASSIVE checkpoints on its own connection.
type checkpointer struct {
	db   *sql.DB
	shm  *os.File // the WAL index, read for the WAL's size (nil: unknown)
	path string
	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}
	log  *slog.Logger

	mu   sync.Mutex
	runs int // checkpoints run, for tests
}

func startCheckpointer(path, dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, path: path, kick: make(chan struct{}, 1), stop: stop, done: make(chan struct{}), log: slog.Default()}
	go c.run(ctx)
	return c, nil
}

// poke tells the checkpointer that a write committed; it never blocks.
func (c *checkpointer) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	idle := time.NewTimer(checkpointIdle)
	idle.Stop()
	for {
		select {
		case <-ctx.Done():
			idle.Stop()
			return
		case <-c.kick:
			idle.Reset(checkpointIdle)
			// Unknown (no -shm file to read): leave it to the pause and
			// the backstop rather than checkpoint, and restart the WAL,
			// after every write.
			if pending, ok := c.pending(); !ok || pending < checkpointPages {
				continue
			}
		case <-idle.C:
			if pending, ok := c.pending(); ok && pending == 0 {
				continue
			}
		}
		if err := c.checkpoint(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("sqlite checkpoint failed; the writer's autocheckpoint still bounds the WAL", "db", c.path, "err", err)
		}
	}
}

// pending reads how many committed WAL pages are not yet copied into the
// database file from the WAL index (the -shm file; its header is
// documented at https://sqlite.org/walformat.html: mxFrame at byte 16,
// nBackfill at byte 96, native byte order). ok is false when it cannot
// tell.
func (c *checkpointer) pending() (n int, ok bool) {
	if c.shm == nil {
		f, err := os.Open(c.path + "-shm")
		if err != nil {
			return 0, false
		}
		c.shm = f
	}
	var b [100]byte
	if _, err := c.shm.ReadAt(b[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	mx := binary.NativeEndian.Uint32(b[16:20])
	backfilled := binary.NativeEndian.Uint32(b[96:100])
	if backfilled > mx {
		return 0, true // the WAL is restarting
	}
	return int(mx - backfilled), true
}

// checkpoint runs one PASSIVE checkpoint: it copies what it can without
// waiting (busy: another checkpoint, maybe another process's, is running).
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, walPages, copied int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walPages, &copied); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.path, err)
	}
	c.mu.Lock()
	c.runs++
	c.mu.Unlock()
	return nil
}

// close stops the checkpointer and closes its connection; the last
// connection to the database to close checkpoints what is left.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	var err error
	if c.shm != nil {
		err = c.shm.Close()
	}
	return errors.Join(err, c.db.Close())
}
