package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

func TestNotifyLoads(t *testing.T) {
	// The token comes from the environment, as a secret should.
	cfg, err := Load("testdata/notify.yaml", []string{"LOKERWATCH_NOTIFY_TELEGRAM_TOKEN=123:abc", "LOKERWATCH_NOTIFY_WEBHOOK_SECRET=from-the-environment-0123"})
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	if n.Telegram.Token != "123:abc" || n.Webhook.Secret != "from-the-environment-0123" || n.Telegram.API != "https://api.telegram.org" {
		t.Errorf("env overrides or defaults not applied: %+v %+v", n.Telegram, n.Webhook)
	}
	if len(n.Rules) != 2 || n.Rules[1].Line != 13 || !slices.Equal(n.Rules[1].Categories, []lokerwatch.Category{lokerwatch.CategoryTrafficking}) ||
		!slices.Equal(n.Rules[1].Sources, []string{"forum"}) || n.Rules[0].MinScore != 85 {
		t.Errorf("rules %+v", n.Rules)
	}
	if n.Queue != 1000 || n.Workers != 2 || n.MaxAttempts != 12 {
		t.Errorf("defaults %+v", n)
	}
	// Without the token the telegram rule cannot be sent.
	_, err = Load("testdata/notify.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "testdata/notify.yaml:7: notify.telegram.token: needs the bot token") {
		t.Errorf("missing token: %v", err)
	}
}

func TestNotifyErrors(t *testing.T) {
	_, err := Load("testdata/bad_notify.yaml", []string{"LOKERWATCH_NOTIFY_TELEGRAM_CHAT_ID=@desk"})
	if err == nil {
		t.Fatal("bad notify section accepted")
	}
	for _, want := range []string{
		`bad_notify.yaml:3: notify.webhook.url: "ftp://oncall.example.org/hook" is not an http(s) URL`,
		"bad_notify.yaml:4: notify.webhook.secret: needs a secret of at least 16 characters",
		"bad_notify.yaml:7: notify.rules[0].min_score: 101 is out of range",
		`bad_notify.yaml:8: notify.rules[0].categories[0]: unknown category "fraud"`,
		`bad_notify.yaml:9: notify.rules[0].to[0]: unknown channel "pager"`,
		`bad_notify.yaml:10: notify.rules[1].name: "a" is also the name of notify.rules[0]`,
		"bad_notify.yaml:11: notify.rules[1].to: name at least one channel",
		"bad_notify.yaml:12: notify.backoff: must be positive and at most notify.max_backoff",
		// chat_id set from the environment turns the telegram checks on.
		"notify.telegram.token: needs the bot token",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("an error shows the secret:\n%v", err)
	}
}
