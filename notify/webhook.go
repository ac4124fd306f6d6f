package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers. The signature header reads "t=<unix seconds>,v1=<hex>"
// where hex is HMAC-SHA256(secret, "<t>." + body): the timestamp is signed
// with the body, so a receiver that rejects old timestamps (Verify does,
// beyond its tolerance) cannot be replayed a captured request later.
const (
	HeaderSignature = "X-Lokerwatch-Signature"
	HeaderDelivery  = "X-Lokerwatch-Delivery"
	HeaderEvent     = "X-Lokerwatch-Event"
)

// Sign returns the signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("signature timestamp outside the tolerance")
)

// Verify checks a signature header against body, as a receiver should:
// the HMAC over "<t>." + body in constant time, and t within tolerance of
// now (a replayed request carries an old t, and t cannot be changed
// without the secret).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrBadSignature)
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal(s, want)
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s away", ErrStale, time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	return nil
}

type webhook struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

func (w *webhook) send(ctx context.Context, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("webhook request: %v", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lokerwatch-notify")
	req.Header.Set(HeaderEvent, EventFlagged)
	req.Header.Set(HeaderDelivery, key)
	req.Header.Set(HeaderSignature, Sign(w.secret, w.now(), body))
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL may carry a secret of its own (many hook URLs do): the
		// error says what failed, not where.
		return fmt.Errorf("webhook: %w", transportErr(err))
	}
	defer resp.Body.Close()
	drain(resp.Body)
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return statusErr("webhook", resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")), "")
}
