package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Case keys:
//
//	case:seq          counter of case IDs
//	cases             ZSET case IDs by ID
//	case:<id>         HASH title, status, assignee, created_by, created, updated (ms)
//	case:<id>:items   LIST items (JSON), oldest first
//	case:<id>:itemset SET "kind:ref", so an item is added once
//	case:<id>:notes   LIST notes (JSON), oldest first
//
// Each change is one script that also appends its audit event.

const luaCase = `
local P = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function audit(actor, remote, action, object, detail)
  local id = redis.call('XADD', P..'audit', '*', 'time', tostring(now), 'actor', actor, 'action', action,
    'object', object, 'remote', remote, 'detail', detail)
  redis.call('RPUSH', P..'audit:obj:'..object, id)
end
local function ck(id) return P..'case:'..id end
local function must(id)
  if redis.call('EXISTS', ck(id)) == 0 then return redis.error_reply('LW notfound') end
  redis.call('HSET', ck(id), 'updated', tostring(now))
  return nil
end
`

// ARGV: prefix, title, user, remote
var createCaseScript = newScript(luaCase + `
local id = tostring(redis.call('INCR', P..'case:seq'))
redis.call('HSET', ck(id), 'title', ARGV[2], 'status', 'open', 'assignee', '', 'created_by', ARGV[3],
  'created', tostring(now), 'updated', tostring(now))
redis.call('ZADD', P..'cases', tonumber(id), id)
audit(ARGV[3], ARGV[4], 'case.create', 'case:'..id, ARGV[2])
return id
`)

// ARGV: prefix, id, user, remote, kind, ref, item JSON
var addCaseItemScript = newScript(luaCase + `
local e = must(ARGV[2]); if e then return e end
if redis.call('SADD', ck(ARGV[2])..':itemset', ARGV[5]..':'..ARGV[6]) == 0 then return 0 end
redis.call('RPUSH', ck(ARGV[2])..':items', ARGV[7])
audit(ARGV[3], ARGV[4], 'case.add', 'case:'..ARGV[2], ARGV[5]..' '..ARGV[6])
return 1
`)

// ARGV: prefix, id, user, remote, note JSON, text
var addCaseNoteScript = newScript(luaCase + `
local e = must(ARGV[2]); if e then return e end
redis.call('RPUSH', ck(ARGV[2])..':notes', ARGV[5])
audit(ARGV[3], ARGV[4], 'case.note', 'case:'..ARGV[2], ARGV[6])
return 1
`)

// ARGV: prefix, id, user, remote, status, assignee
var setCaseStatusScript = newScript(luaCase + `
local e = must(ARGV[2]); if e then return e end
redis.call('HSET', ck(ARGV[2]), 'status', ARGV[5])
local detail = 'status '..ARGV[5]
if ARGV[6] ~= '' then
  redis.call('HSET', ck(ARGV[2]), 'assignee', ARGV[6])
  detail = detail..', assignee '..ARGV[6]
end
audit(ARGV[3], ARGV[4], 'case.status', 'case:'..ARGV[2], detail)
return 1
`)

func validCaseID(id string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return fmt.Errorf("case %q: %w", id, lokerwatch.ErrNotFound)
	}
	return nil
}

// CreateCase opens a case.
func (s *Store) CreateCase(ctx context.Context, title string, by storage.CaseActor) (*storage.Case, error) {
	id, err := createCaseScript.Run(ctx, s.rdb, nil, s.prefix, title, by.User, by.Remote).Text()
	if err != nil {
		return nil, s.wrap("create case", err)
	}
	return s.GetCase(ctx, id)
}

func (s *Store) caseHeader(ctx context.Context, id string) (storage.Case, error) {
	h, err := s.rdb.HGetAll(ctx, s.k("case:", id)).Result()
	if err != nil {
		return storage.Case{}, s.wrap("get case "+id, err)
	}
	if len(h) == 0 {
		return storage.Case{}, fmt.Errorf("get case %s: %w", id, lokerwatch.ErrNotFound)
	}
	return caseFromHash(id, h), nil
}

// GetCase returns a case with its items and notes.
func (s *Store) GetCase(ctx context.Context, id string) (*storage.Case, error) {
	if err := validCaseID(id); err != nil {
		return nil, err
	}
	c, err := s.caseHeader(ctx, id)
	if err != nil {
		return nil, err
	}
	items, err := s.rdb.LRange(ctx, s.k("case:", id, ":items"), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("get case "+id+" items", err)
	}
	for _, raw := range items {
		var it storage.CaseItem
		if err := json.Unmarshal([]byte(raw), &it); err != nil {
			return nil, fmt.Errorf("get case %s: item: %w", id, err)
		}
		c.Items = append(c.Items, it)
	}
	notes, err := s.rdb.LRange(ctx, s.k("case:", id, ":notes"), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("get case "+id+" notes", err)
	}
	for _, raw := range notes {
		var n storage.CaseNote
		if err := json.Unmarshal([]byte(raw), &n); err != nil {
			return nil, fmt.Errorf("get case %s: note: %w", id, err)
		}
		c.Notes = append(c.Notes, n)
	}
	return &c, nil
}

// ListCases returns cases newest first, without items and notes.
func (s *Store) ListCases(ctx context.Context, limit int) ([]storage.Case, error) {
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	ids, err := s.rdb.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: s.k("cases"), Start: 0, Stop: stop, Rev: true}).Result()
	if err != nil {
		return nil, s.wrap("list cases", err)
	}
	// One round trip for all the headers.
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	if len(ids) > 0 {
		if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HGetAll(ctx, s.k("case:", id))
			}
			return nil
		}); err != nil {
			return nil, s.wrap("list cases", err)
		}
	}
	out := make([]storage.Case, 0, len(ids))
	for i, id := range ids {
		h := cmds[i].Val()
		if len(h) == 0 {
			continue // removed between the two reads
		}
		out = append(out, caseFromHash(id, h))
	}
	return out, nil
}

func caseFromHash(id string, h map[string]string) storage.Case {
	c, _ := strconv.ParseInt(h["created"], 10, 64)
	u, _ := strconv.ParseInt(h["updated"], 10, 64)
	return storage.Case{ID: id, Title: h["title"], Status: storage.CaseStatus(h["status"]), Assignee: h["assignee"],
		CreatedBy: h["created_by"], CreatedAt: fromMS(c), UpdatedAt: fromMS(u)}
}

// AddCaseItem adds an ad, entity or persona to a case once.
func (s *Store) AddCaseItem(ctx context.Context, id string, item storage.CaseItem, by storage.CaseActor) (bool, error) {
	if err := validCaseID(id); err != nil {
		return false, err
	}
	if item.By == "" {
		item.By = by.User
	}
	if item.Added.IsZero() {
		item.Added = timeNow()
	}
	b, err := json.Marshal(item)
	if err != nil {
		return false, err
	}
	n, err := addCaseItemScript.Run(ctx, s.rdb, nil, s.prefix, id, by.User, by.Remote, item.Kind, item.Ref, string(b)).Int()
	if err != nil {
		return false, s.wrap("add to case "+id, err)
	}
	return n == 1, nil
}

// AddCaseNote appends a note.
func (s *Store) AddCaseNote(ctx context.Context, id string, note storage.CaseNote, by storage.CaseActor) error {
	if err := validCaseID(id); err != nil {
		return err
	}
	if note.Author == "" {
		note.Author = by.User
	}
	if note.Time.IsZero() {
		note.Time = timeNow()
	}
	b, err := json.Marshal(note)
	if err != nil {
		return err
	}
	err = addCaseNoteScript.Run(ctx, s.rdb, nil, s.prefix, id, by.User, by.Remote, string(b), note.Text).Err()
	return s.wrap("note on case "+id, err)
}

// SetCaseStatus sets a case's status and, when given, its assignee.
func (s *Store) SetCaseStatus(ctx context.Context, id string, status storage.CaseStatus, assignee string, by storage.CaseActor) error {
	if err := validCaseID(id); err != nil {
		return err
	}
	if !storage.ValidCaseStatus(status) {
		return fmt.Errorf("case %s: unknown status %q (open, referred, closed)", id, status)
	}
	err := setCaseStatusScript.Run(ctx, s.rdb, nil, s.prefix, id, by.User, by.Remote, string(status), assignee).Err()
	return s.wrap("set status of case "+id, err)
}

func timeNow() time.Time { return time.Now().UTC() }
