package storeurl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/swcli/swcli/core/store"
)

// probePrefix holds the short-lived keys Probe writes.
const probePrefix = "probes/"

// ConditionsIgnoredError says a store accepted a conditional put that must
// have failed: the service behind it does not honour conditional writes, so
// several writers (servers on one bucket, a team sharing it) would lose
// updates.
type ConditionsIgnoredError struct {
	Condition string // "If-None-Match" or "If-Match"
}

func (e *ConditionsIgnoredError) Error() string {
	return fmt.Sprintf("the store ignores conditional writes (a put with %s that must fail succeeded); swcli needs a service with S3 conditional writes (If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload), see README \"Your own bucket\"", e.Condition)
}

// ProbeError says the store a URL names failed the probe at open.
type ProbeError struct {
	URL string // redacted
	Err error
}

func (e *ProbeError) Error() string { return fmt.Sprintf("store %s: %v", e.URL, e.Err) }
func (e *ProbeError) Unwrap() error { return e.Err }

// Probe checks, with a few small writes under probes/ that it deletes
// again, that s can be written and read (so a wrong endpoint, missing
// bucket or bad credentials show up at start, not at the first push) and
// that its conditional puts hold: a second create-only put and a put
// against a stale ETag must fail with *store.PreconditionError. A store that
// accepts them gives *ConditionsIgnoredError.
func Probe(ctx context.Context, s store.Store) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	key := probePrefix + hex.EncodeToString(b[:])
	defer func() { _ = s.Delete(context.WithoutCancel(ctx), key) }()
	put := func(v string, o store.PutOptions) error { return s.Put(ctx, key, strings.NewReader(v), o) }

	if err := put("1", store.PutOptions{IfNoneMatch: true}); err != nil {
		return err
	}
	var pe *store.PreconditionError
	switch err := put("2", store.PutOptions{IfNoneMatch: true}); {
	case err == nil:
		return &ConditionsIgnoredError{Condition: "If-None-Match: *"}
	case !errors.As(err, &pe):
		return err
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		return err
	}
	stale := info.ETag + "0"
	switch err := put("3", store.PutOptions{IfMatch: stale}); {
	case err == nil:
		return &ConditionsIgnoredError{Condition: "If-Match"}
	case !errors.As(err, &pe):
		return err
	}
	return put("4", store.PutOptions{IfMatch: info.ETag})
}
