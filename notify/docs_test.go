package notify_test

import (
	"os"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch/config"
)

// The configuration shown in docs/operator-alerts.md loads, with the
// secrets from the environment as the page advises.
func TestDocsConfigExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/operator-alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || !strings.Contains(block, "notify:") {
		t.Fatal("no yaml block with a notify section in docs/operator-alerts.md")
	}
	path := t.TempDir() + "/lw.yaml"
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{"LOKERWATCH_NOTIFY_WEBHOOK_SECRET=0123456789abcdef", "LOKERWATCH_NOTIFY_TELEGRAM_TOKEN=123:abc"})
	if err != nil {
		t.Fatalf("the documented config does not load: %v", err)
	}
	if len(cfg.Notify.Rules) != 2 || cfg.Notify.Telegram.API != "https://api.telegram.org" {
		t.Errorf("notify %+v", cfg.Notify)
	}
	// Without the secrets it names each missing one.
	_, err = config.Load(path, nil)
	for _, want := range []string{"notify.webhook.secret", "notify.telegram.token"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without secrets: %v; want it to name %s", err, want)
		}
	}
}
