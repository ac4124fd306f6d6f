package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

func caseID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("case %q: %w", id, lokerwatch.ErrNotFound)
	}
	return n, nil
}

// caseAudit records a case change in the change's transaction.
func (s *Store) caseAudit(ctx context.Context, tx *txn, id int64, action, detail string, by storage.CaseActor) error {
	return s.audit(ctx, tx, lokerwatch.AuditEvent{Actor: by.User, Remote: by.Remote, Action: action,
		Object: "case:" + strconv.FormatInt(id, 10), Detail: detail})
}

// touchCase checks the case exists and sets its updated time.
func (s *Store) touchCase(ctx context.Context, tx *txn, id int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE cases SET updated_at = ? WHERE id = ?`, ns(s.now()), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("case %d: %w", id, lokerwatch.ErrNotFound)
	}
	return nil
}

// CreateCase opens a case.
func (s *Store) CreateCase(ctx context.Context, title string, by storage.CaseActor) (*storage.Case, error) {
	var id int64
	now := s.now()
	err := s.write(ctx, "create case", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO cases (title, status, assignee, created_by, created_at, updated_at) VALUES (?, ?, '', ?, ?, ?)`,
			title, string(storage.CaseOpen), by.User, ns(now), ns(now))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.caseAudit(ctx, tx, id, "case.create", title, by)
	})
	if err != nil {
		return nil, err
	}
	return s.GetCase(ctx, strconv.FormatInt(id, 10))
}

const caseCols = `id, title, status, assignee, created_by, created_at, updated_at`

func scanCase(row interface{ Scan(...any) error }) (storage.Case, error) {
	var c storage.Case
	var id, created, updated int64
	var status string
	err := row.Scan(&id, &c.Title, &status, &c.Assignee, &c.CreatedBy, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, lokerwatch.ErrNotFound
	}
	c.ID, c.Status, c.CreatedAt, c.UpdatedAt = strconv.FormatInt(id, 10), storage.CaseStatus(status), tm(created), tm(updated)
	return c, err
}

// GetCase returns a case with its items and notes.
func (s *Store) GetCase(ctx context.Context, id string) (*storage.Case, error) {
	n, err := caseID(id)
	if err != nil {
		return nil, err
	}
	c, err := scanCase(s.r.QueryRowContext(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`, n))
	if err != nil {
		return nil, fmt.Errorf("get case %s: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, ref, by_user, added FROM case_items WHERE case_id = ? ORDER BY seq`, n)
	if err != nil {
		return nil, fmt.Errorf("get case %s: items: %w", id, err)
	}
	for rows.Next() {
		var it storage.CaseItem
		var added int64
		if err := rows.Scan(&it.Kind, &it.Ref, &it.By, &added); err != nil {
			rows.Close()
			return nil, err
		}
		it.Added = tm(added)
		c.Items = append(c.Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT author, time, text FROM case_notes WHERE case_id = ? ORDER BY seq`, n)
	if err != nil {
		return nil, fmt.Errorf("get case %s: notes: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var nt storage.CaseNote
		var t int64
		if err := rows.Scan(&nt.Author, &t, &nt.Text); err != nil {
			return nil, err
		}
		nt.Time = tm(t)
		c.Notes = append(c.Notes, nt)
	}
	return &c, rows.Err()
}

// ListCases returns cases newest first, without items and notes.
func (s *Store) ListCases(ctx context.Context, limit int) ([]storage.Case, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+caseCols+` FROM cases ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []storage.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddCaseItem adds an ad, entity or persona to a case once.
func (s *Store) AddCaseItem(ctx context.Context, id string, item storage.CaseItem, by storage.CaseActor) (bool, error) {
	n, err := caseID(id)
	if err != nil {
		return false, err
	}
	if item.Added.IsZero() {
		item.Added = s.now()
	}
	if item.By == "" {
		item.By = by.User
	}
	added := false
	err = s.write(ctx, "add to case "+id, func(tx *txn) error {
		if err := s.touchCase(ctx, tx, n); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO case_items (case_id, kind, ref, by_user, added) VALUES (?, ?, ?, ?, ?)`,
			n, item.Kind, item.Ref, item.By, ns(item.Added))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		added = true
		return s.caseAudit(ctx, tx, n, "case.add", item.Kind+" "+item.Ref, by)
	})
	return added, err
}

// AddCaseNote appends a note.
func (s *Store) AddCaseNote(ctx context.Context, id string, note storage.CaseNote, by storage.CaseActor) error {
	n, err := caseID(id)
	if err != nil {
		return err
	}
	if note.Time.IsZero() {
		note.Time = s.now()
	}
	if note.Author == "" {
		note.Author = by.User
	}
	return s.write(ctx, "note on case "+id, func(tx *txn) error {
		if err := s.touchCase(ctx, tx, n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_notes (case_id, author, time, text) VALUES (?, ?, ?, ?)`, n, note.Author, ns(note.Time), note.Text); err != nil {
			return err
		}
		return s.caseAudit(ctx, tx, n, "case.note", note.Text, by)
	})
}

// SetCaseStatus sets a case's status and, when given, its assignee.
func (s *Store) SetCaseStatus(ctx context.Context, id string, status storage.CaseStatus, assignee string, by storage.CaseActor) error {
	n, err := caseID(id)
	if err != nil {
		return err
	}
	if !storage.ValidCaseStatus(status) {
		return fmt.Errorf("case %s: unknown status %q (open, referred, closed)", id, status)
	}
	return s.write(ctx, "set status of case "+id, func(tx *txn) error {
		if err := s.touchCase(ctx, tx, n); err != nil {
			return err
		}
		q, args := `UPDATE cases SET status = ? WHERE id = ?`, []any{string(status), n}
		detail := "status " + string(status)
		if assignee != "" {
			q, args = `UPDATE cases SET status = ?, assignee = ? WHERE id = ?`, []any{string(status), assignee, n}
			detail += ", assignee " + assignee
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		return s.caseAudit(ctx, tx, n, "case.status", detail, by)
	})
}
