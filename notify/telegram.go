package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// telegram sends Bot API sendMessage requests. The token is part of the
// request URL; it never reaches an error or a log line (redact).
type telegram struct {
	api, token, chat string
	client           *http.Client
}

// maxMessage is Telegram's limit on a message's text, in characters.
const maxMessage = 4096

// Message is the text of the Telegram message for ev: plain text (no
// parse_mode, so nothing in a crawled title can format or link), the
// score and category first, then the title, source, rules, the reasons and
// the links.
func Message(ev Event) string {
	var b strings.Builder
	it := ev.Item
	cat := string(it.Category)
	if cat == "" {
		cat = "no category"
	}
	fmt.Fprintf(&b, "lokerwatch: flagged ad, score %d (%s)\n", it.Score, cat)
	if it.Title != "" {
		fmt.Fprintf(&b, "%s\n", oneLine(it.Title))
	}
	fmt.Fprintf(&b, "source: %s · rules: %s\n", it.Source, strings.Join(ev.Rules, ", "))
	for _, r := range it.Reasons {
		what := r.Rule
		if r.Description != "" {
			what = r.Description
		}
		if r.Evidence != "" {
			fmt.Fprintf(&b, "+%d %s: %q\n", r.Weight, oneLine(what), oneLine(r.Evidence))
		} else {
			fmt.Fprintf(&b, "+%d %s\n", r.Weight, oneLine(what))
		}
	}
	if it.URL != "" {
		fmt.Fprintf(&b, "ad: %s\n", it.URL)
	}
	if ev.DeskURL != "" {
		fmt.Fprintf(&b, "review: %s\n", ev.DeskURL)
	}
	s := strings.TrimRight(b.String(), "\n")
	if r := []rune(s); len(r) > maxMessage {
		s = string(r[:maxMessage-1]) + "…"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type sendMessage struct {
	ChatID                string `json:"chat_id"`
	Text                  string `json:"text"`
	DisableWebPagePreview bool   `json:"disable_web_page_preview"`
}

type botReply struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func (t *telegram) send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(sendMessage{ChatID: t.chat, Text: Message(ev), DisableWebPagePreview: true})
	if err != nil {
		return permanent(fmt.Errorf("telegram: %v", err))
	}
	u := strings.TrimRight(t.api, "/") + "/bot" + t.token + "/sendMessage"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("telegram request: %s", t.redact(err.Error())))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("telegram sendMessage: %s", t.redact(transportErr(err).Error()))
	}
	defer resp.Body.Close()
	var reply botReply
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &reply) // a proxy's HTML error page is still a status
	if resp.StatusCode/100 == 2 && reply.OK {
		return nil
	}
	wait := time.Duration(reply.Parameters.RetryAfter) * time.Second
	if wait == 0 {
		wait = retryAfter(resp.Header.Get("Retry-After"))
	}
	code := resp.StatusCode
	if code/100 == 2 { // 200 with ok=false: the reply's code, else a bad gateway
		code = http.StatusBadGateway
		if reply.ErrorCode >= 400 {
			code = reply.ErrorCode
		}
	}
	return statusErr("telegram sendMessage", code, wait, t.redact(clip(reply.Description, 200)))
}

// redact removes the bot token from s.
func (t *telegram) redact(s string) string {
	if t.token == "" {
		return s
	}
	return strings.ReplaceAll(s, t.token, "<token>")
}
