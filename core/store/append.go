package store

import (
	"context"
	"fmt"
	"io"
)

// Appender is an optional Store capability for a value that grows in place,
// as the bytes of an upload session do: the filesystem store appends each
// chunk to one file, so finishing the upload is a rename (Seal), not a copy
// of every chunk into the blob. Stores without it (S3) keep one key per
// chunk and compose them (Composer, ComposeOf); the caller (core/registry)
// picks one of the two ways when a session starts.
//
// A growing value is not atomic like a Put's: a Get or Stat may see it at
// any length it reaches, and List lists it. It is for staging only: it
// leaves by Seal or Delete, and is no src of a Compose (the filesystem
// store would share its file, which a later Append changes).
//
//   - Append writes the bytes of r at the end of key's value, which must
//     hold exactly at bytes (a missing key holds none: Append with at 0
//     creates it; with another at it gives *NotFoundError), and returns how
//     many it wrote. A value of another length gives *SizeError and nothing
//     is written. Appends of one key exclude each other, in other processes
//     too: the second waits for the first, then finds the length changed.
//     If reading r fails, the bytes read before stay appended (the count
//     says how many) and r's error is returned, so an upload cut short
//     keeps what arrived; if writing fails, the value is cut back to at
//     bytes. An Append of no bytes changes nothing, but still waits for one
//     running: at the length it expects it returns 0, at another a
//     *SizeError with the length the running one left.
//   - Epoch says how long appended bytes are sure to stay as written: they
//     survive a crash of the process at once, and a crash of the machine
//     once sealed. While Epoch returns the same string (the filesystem
//     store's: the machine's boot), a fact recorded about appended bytes
//     (the registry's hash state at a length) stays true; once it changes,
//     bytes appended before may be lost or garbled (the value still holds
//     at most what was appended), so such facts are to be checked again.
//     "" means each Append has made its bytes durable when it returns.
//   - Seal makes the first size bytes of key's value the value of dst,
//     atomically and durably like a Put (readers of dst see the old value
//     or the new one), and removes key. Bytes past size (an Append racing
//     the Seal) are dropped. A value shorter than size gives *SizeError, a
//     missing key *NotFoundError; dst is then unchanged.
//
// Not syncing every Append is what makes it cheap: the disk is asked to
// flush once per blob, at Seal, as for a Put of the whole blob.
type Appender interface {
	Append(ctx context.Context, key string, at int64, r io.Reader) (int64, error)
	Epoch() string
	Seal(ctx context.Context, key string, size int64, dst string) error
}

// SizeError says a growing value (Appender) does not have the length the
// caller expected: Size is the length it has.
type SizeError struct {
	Key  string
	Size int64 // the value's length
	Want int64 // the length the caller expected
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("store: %s has %d bytes, not %d", e.Key, e.Size, e.Want)
}
