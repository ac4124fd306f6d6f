package redis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// The audit log is one STREAM (<prefix>audit); review scripts XADD to it
// in the same script as the change they record. Event IDs are stream IDs.

// AppendAudit appends one event (Time defaults to now).
func (s *Store) AppendAudit(ctx context.Context, ev lokerwatch.AuditEvent) error {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	err := appendAuditScript.Run(ctx, s.rdb, []string{s.k("audit"), s.k("audit:obj:", ev.Object)},
		ms(t), ev.Actor, ev.Action, ev.Object, ev.Remote, ev.Detail).Err()
	return s.wrap("append audit event "+ev.Action, err)
}

// appendAuditScript adds an event and indexes it by object in one step, so
// an object's trail (ListAudit with Object, used per ad by exports) is read
// without scanning the whole stream.
var appendAuditScript = newScript(`
local id = redis.call('XADD', KEYS[1], '*', 'time', ARGV[1], 'actor', ARGV[2], 'action', ARGV[3],
  'object', ARGV[4], 'remote', ARGV[5], 'detail', ARGV[6])
if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[2], id) end
return id
`)

// listObjectAudit reads one object's events through its index.
func (s *Store) listObjectAudit(ctx context.Context, f storage.AuditFilter) ([]lokerwatch.AuditEvent, error) {
	ids, err := s.rdb.LRange(ctx, s.k("audit:obj:", f.Object), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("list audit events of "+f.Object, err)
	}
	if f.Newest {
		slices.Reverse(ids)
	}
	cmds := make([]*goredis.XMessageSliceCmd, len(ids))
	if len(ids) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.XRange(ctx, s.k("audit"), id, id)
			}
			return nil
		})
		if err != nil {
			return nil, s.wrap("list audit events of "+f.Object, err)
		}
	}
	var out []lokerwatch.AuditEvent
	for _, c := range cmds {
		for _, m := range c.Val() {
			ev := auditFromMsg(m)
			if (f.Actor != "" && ev.Actor != f.Actor) || (!f.Since.IsZero() && ev.Time.Before(f.Since)) {
				continue
			}
			out = append(out, ev)
			if f.Limit > 0 && len(out) >= f.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

func auditFromMsg(m goredis.XMessage) lokerwatch.AuditEvent {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	t, _ := strconv.ParseInt(str("time"), 10, 64)
	if t == 0 {
		t, _ = strconv.ParseInt(strings.SplitN(m.ID, "-", 2)[0], 10, 64)
	}
	return lokerwatch.AuditEvent{
		ID: m.ID, Time: fromMS(t), Actor: str("actor"), Action: str("action"),
		Object: str("object"), Remote: str("remote"), Detail: str("detail"),
	}
}

// ListAudit returns matching events oldest first, reading the stream in
// pages from Since.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]lokerwatch.AuditEvent, error) {
	if f.Object != "" {
		return s.listObjectAudit(ctx, f)
	}
	if f.Newest {
		return s.listNewestAudit(ctx, f)
	}
	start := "-"
	if !f.Since.IsZero() {
		// Stream IDs carry Redis' clock; allow a minute of skew against
		// the event times, then filter on the event time itself.
		start = strconv.FormatInt(max(0, ms(f.Since)-60_000), 10)
	}
	var out []lokerwatch.AuditEvent
	for {
		msgs, err := s.rdb.XRangeN(ctx, s.k("audit"), start, "+", 500).Result()
		if err != nil {
			return nil, s.wrap("list audit events", err)
		}
		for _, m := range msgs {
			ev := auditFromMsg(m)
			if (f.Object != "" && ev.Object != f.Object) || (f.Actor != "" && ev.Actor != f.Actor) ||
				(!f.Since.IsZero() && ev.Time.Before(f.Since)) {
				continue
			}
			out = append(out, ev)
			if f.Limit > 0 && len(out) >= f.Limit {
				return out, nil
			}
		}
		if len(msgs) < 500 {
			return out, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// listNewestAudit reads the stream backwards in pages from the newest
// event, down to Since, stopping at Limit.
func (s *Store) listNewestAudit(ctx context.Context, f storage.AuditFilter) ([]lokerwatch.AuditEvent, error) {
	stop := "-"
	if !f.Since.IsZero() {
		stop = strconv.FormatInt(max(0, ms(f.Since)-60_000), 10)
	}
	end := "+"
	var out []lokerwatch.AuditEvent
	for {
		msgs, err := s.rdb.XRevRangeN(ctx, s.k("audit"), end, stop, 500).Result()
		if err != nil {
			return nil, s.wrap("list audit events", err)
		}
		for _, m := range msgs {
			ev := auditFromMsg(m)
			if (f.Actor != "" && ev.Actor != f.Actor) || (!f.Since.IsZero() && ev.Time.Before(f.Since)) {
				continue
			}
			out = append(out, ev)
			if f.Limit > 0 && len(out) >= f.Limit {
				return out, nil
			}
		}
		if len(msgs) < 500 {
			return out, nil
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
}
