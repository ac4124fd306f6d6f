package notify

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// deliveryError is a failed delivery: Permanent when trying again cannot
// help (the receiver refused the request itself), Wait when the receiver
// said how long to wait (Retry-After, Telegram's retry_after).
type deliveryError struct {
	err       error
	permanent bool
	wait      time.Duration
}

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func permanent(err error) error { return &deliveryError{err: err, permanent: true} }

func isPermanent(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.permanent
}

func waitOf(err error) time.Duration {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.wait
	}
	return 0
}

// statusErr reads an HTTP status: a 4xx other than 408, 425 and 429 is the
// receiver refusing this request for good (a bad signature, an unknown
// chat); everything else may pass later.
func statusErr(what string, code int, wait time.Duration, detail string) error {
	msg := fmt.Sprintf("%s: HTTP %d", what, code)
	if detail != "" {
		msg += ": " + detail
	}
	e := &deliveryError{err: errors.New(msg), wait: wait}
	if code/100 == 4 && code != http.StatusRequestTimeout && code != http.StatusTooEarly && code != http.StatusTooManyRequests {
		e.permanent = true
	}
	return e
}

// transportErr drops the request URL from a client error: a Telegram URL
// holds the bot token, and a hook URL often a secret of its own.
func transportErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter reads a Retry-After header in seconds (the HTTP-date form is
// not used by the receivers we know).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// drain reads a little of a body so that the connection can be reused.
func drain(r io.Reader) { io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }
