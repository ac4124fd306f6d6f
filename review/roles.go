package review

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// ErrForbidden is a decision or claim the user's role does not allow.
var ErrForbidden = errors.New("not allowed for your role")

// The decision matrix, one rule for the console, the API and the CLI:
//
//	                                   analyst  investigator  admin
//	decide or escalate an open item      yes        yes        yes
//	claim or decide an escalated item    no         yes        yes
//	amend one's own decision             yes        yes        yes
//	amend an analyst's decision          no         yes        yes
//	amend an investigator's decision     no         yes        yes
//	amend an admin's decision            no         no         yes
//
// A decision by a name that is no longer an account counts as an
// admin's: only an admin may overturn it.

// MayClaim says whether a user of role may claim it.
func MayClaim(role storage.Role, it *lokerwatch.ReviewItem) error {
	if roleRank(role) == 0 {
		return fmt.Errorf("%w: unknown role %q", ErrForbidden, role)
	}
	if escalated(it) && !allows(role, storage.RoleInvestigator) {
		return fmt.Errorf("%w: item %s is escalated; an investigator or admin decides it", ErrForbidden, it.ID)
	}
	return nil
}

// MayDecide says whether user (name, role) may decide it, whose standing
// verdict (if decided) was given by someone of role prev ("" when that
// name is no account).
func MayDecide(name string, role storage.Role, it *lokerwatch.ReviewItem, prev storage.Role) error {
	if err := MayClaim(role, it); err != nil {
		return err
	}
	if it.Status != lokerwatch.StatusDecided || it.Reviewer == name {
		return nil
	}
	if roleRank(prev) == 0 {
		prev = storage.RoleAdmin
	}
	if !allows(role, storage.RoleInvestigator) || roleRank(role) < roleRank(prev) {
		return fmt.Errorf("%w: the verdict of item %s was given by %s (%s); a %s cannot amend it", ErrForbidden, it.ID, it.Reviewer, prev, role)
	}
	return nil
}

func escalated(it *lokerwatch.ReviewItem) bool {
	return it.Status != lokerwatch.StatusDecided && it.Verdict == lokerwatch.VerdictEscalate
}

// DecideStore is what Decide and Claim need.
type DecideStore interface {
	GetItem(ctx context.Context, id string) (*lokerwatch.ReviewItem, error)
	GetUser(ctx context.Context, name string) (*storage.User, error)
	ClaimItem(ctx context.Context, id, reviewer string, ttl time.Duration) (*lokerwatch.ReviewItem, error)
	Decide(ctx context.Context, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error)
}

// Decide records d for user u after checking the decision matrix; every
// decision (console, API, CLI) goes through it. d.Reviewer is set to u.
func Decide(ctx context.Context, st DecideStore, u *storage.User, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error) {
	if u == nil || u.Disabled {
		return nil, fmt.Errorf("decide review item %s: %w: no enabled user", d.ItemID, ErrForbidden)
	}
	it, err := st.GetItem(ctx, d.ItemID)
	if err != nil {
		return nil, err
	}
	return decideItem(ctx, st, u, it, d)
}

func decideItem(ctx context.Context, st DecideStore, u *storage.User, it *lokerwatch.ReviewItem, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error) {
	if it.Status == lokerwatch.StatusDecided && !d.Amend {
		// Said before the role check: whoever asks, it needs amend first.
		return nil, fmt.Errorf("decide review item %s: %w", it.ID, lokerwatch.ErrAlreadyDecided)
	}
	var prev storage.Role
	if it.Status == lokerwatch.StatusDecided && it.Reviewer != u.Name {
		pu, err := st.GetUser(ctx, it.Reviewer)
		switch {
		case err == nil:
			prev = pu.Role
		case !errors.Is(err, lokerwatch.ErrNotFound):
			return nil, fmt.Errorf("decide review item %s: reviewer %s: %w", it.ID, it.Reviewer, err)
		}
	}
	if err := MayDecide(u.Name, u.Role, it, prev); err != nil {
		return nil, fmt.Errorf("decide review item %s: %w", it.ID, err)
	}
	d.ItemID, d.Reviewer = it.ID, u.Name
	return st.Decide(ctx, d)
}

// Claim claims item id for user u after checking the decision matrix.
func Claim(ctx context.Context, st DecideStore, u *storage.User, id string, ttl time.Duration) (*lokerwatch.ReviewItem, error) {
	if u == nil || u.Disabled {
		return nil, fmt.Errorf("claim review item %s: %w: no enabled user", id, ErrForbidden)
	}
	it, err := st.GetItem(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := MayClaim(u.Role, it); err != nil {
		return nil, fmt.Errorf("claim review item %s: %w", id, err)
	}
	return st.ClaimItem(ctx, id, u.Name, ttl)
}
