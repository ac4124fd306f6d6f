package notify_test

import (
	"fmt"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/notify"
)

// The Telegram message of docs/operator-alerts.md.
func ExampleMessage() {
	ev := notify.Event{
		ID: "3f9c2a7e/telegram", Type: notify.EventFlagged, Rules: []string{"very-high"},
		DeskURL: "https://desk.example.org/ad/3f9c2a7e",
		Item: notify.EventItem{
			ID: "3f9c2a7e", AdID: "3f9c2a7e", URL: "https://loker.example/job/1", Source: "board",
			Title: "Lowongan admin Kamboja, gaji 20 juta", Score: 92, Category: lokerwatch.CategoryScam,
			Reasons: []notify.Reason{
				{Rule: "scam.tourist_visa", Weight: 30, Description: "departure on a tourist visa", Evidence: "pakai visa turis"},
				{Rule: "scam.no_experience_high_pay", Weight: 25, Description: "high pay without experience", Evidence: "Gaji 20 juta, tanpa pengalaman"},
			},
			QueuedAt: time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC),
		},
	}
	fmt.Println(notify.Message(ev))
	// Output:
	// lokerwatch: flagged ad, score 92 (scam)
	// Lowongan admin Kamboja, gaji 20 juta
	// source: board · rules: very-high
	// +30 departure on a tourist visa: "pakai visa turis"
	// +25 high pay without experience: "Gaji 20 juta, tanpa pengalaman"
	// ad: https://loker.example/job/1
	// review: https://desk.example.org/ad/3f9c2a7e
}
