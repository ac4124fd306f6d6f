package review

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's second recommended set (19 MiB, t=2, p=1),
// cheap enough that a login costs tens of milliseconds on a small machine.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
	// Limits on parameters read back from a stored hash, so a tampered
	// record cannot make a login allocate gigabytes.
	maxArgonMemory = 1 << 20 // 1 GiB in KiB
	maxArgonTime   = 16
)

var b64 = base64.RawStdEncoding

// hashSlots bounds how many argon2 hashes a server computes at once: each
// takes argonMemory (19 MiB), so without a bound a burst of logins costs
// memory in proportion to the burst (150 at once peaked at 2.2 GB).
// Logins beyond it wait for a slot, or give up (errBusy) after
// maxHashWait.
type hashSlots chan struct{}

var errBusy = errors.New("too many logins at once")

// maxHashWait is how long a login waits for a hashing slot.
const maxHashWait = 10 * time.Second

func newHashSlots(n int) hashSlots { return make(hashSlots, max(n, 1)) }

// check runs checkPassword in a slot.
func (h hashSlots) check(ctx context.Context, phc, password string) (bool, error) {
	t := time.NewTimer(maxHashWait)
	defer t.Stop()
	select {
	case h <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, errBusy
	}
	defer func() { <-h }()
	return checkPassword(phc, password)
}

// hashPassword returns the PHC string of an argon2id hash of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// checkPassword reports whether password matches the PHC string phc.
func checkPassword(phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("%w: version %q", errBadHash, parts[2])
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("%w: parameters %q", errBadHash, parts[3])
	}
	if m == 0 || m > maxArgonMemory || t == 0 || t > maxArgonTime || p == 0 {
		return false, fmt.Errorf("%w: parameters out of range %q", errBadHash, parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("%w: salt: %v", errBadHash, err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, fmt.Errorf("%w: key", errBadHash)
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when a login names an unknown user, so that
// the response time does not tell which user names exist.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("not a password of anyone")
	if err != nil {
		panic(err) // crypto/rand failing is not recoverable
	}
	return h
})
