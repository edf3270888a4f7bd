package store

import (
	"bytes"
	"context"
)

// Marker is an optional Store capability for keys whose meaning is only
// that they exist and when they were last marked (a registry's leases and
// links): Mark(ctx, key, value) makes key exist holding value (when it
// did not) and gives it a modification time no earlier than the call's
// start, for less than a Put costs (the filesystem store makes no
// temporary file and renames nothing; it only sets the time of a key that
// exists). What a Marker may do that a Put may not: a reader that looks
// while Mark creates the key may find it shorter than value, and a key
// that existed keeps its old value (callers mark a key only ever with the
// same value). Durability is the store's as for a Put of that key.
type Marker interface {
	Mark(ctx context.Context, key string, value []byte) error
}

// Mark marks key in s: with s's Marker when it has one, else with a Put of
// value, which meets the same contract.
func Mark(ctx context.Context, s Store, key string, value []byte) error {
	if m, ok := s.(Marker); ok {
		return m.Mark(ctx, key, value)
	}
	return s.Put(ctx, key, bytes.NewReader(value), PutOptions{})
}

// Mark validates key as Put does and marks it in the wrapped store (its
// Marker, or a Put).
func (c *checked) Mark(ctx context.Context, key string, value []byte) error {
	if err := ValidateKey(key); err != nil {
		return c.fail("put", key, err)
	}
	return c.fail("put", key, Mark(ctx, c.s, key, value))
}
