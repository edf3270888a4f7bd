// Package contention owns the one rule for retrying a conditional store write
// that lost a race (core/registry's tags and counters, core/server/auth's
// records): wait a random, growing little while, and give up after a fixed
// number of attempts. It knows nothing of stores or keys.
package contention

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// MaxAttempts is how many lost races a writer accepts before giving up.
const MaxAttempts = 1000

// Backoff waits before retry number attempt (0-based): a random time up to
// 1ms << attempt, at most 64ms, so racing writers spread out. It returns an
// error naming who when attempt reaches MaxAttempts, or ctx's error.
func Backoff(ctx context.Context, who string, attempt int) error {
	if attempt >= MaxAttempts {
		return fmt.Errorf("%s: too much contention, gave up after %d attempts", who, MaxAttempts)
	}
	limit := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(limit)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
