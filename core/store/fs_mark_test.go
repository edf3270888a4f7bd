package store_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

var markValue = []byte("{}\n")

// TestFSMarkMakesAndRefreshesAKey: a first Mark makes the key with the
// value; a later one keeps the value and moves the time forward; a Mark
// after a Delete makes it again; a key that is a folder of other keys is
// refused as a Put would refuse it.
func TestFSMarkMakesAndRefreshesAKey(t *testing.T) {
	ctx := context.Background()
	s, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	before := time.Now()
	require.NoError(t, store.Mark(ctx, s, "leases/sha256/aa", markValue))
	info, err := s.Stat(ctx, "leases/sha256/aa")
	require.NoError(t, err)
	assert.EqualValues(t, len(markValue), info.Size)
	assert.False(t, info.ModTime.Before(before.Truncate(time.Second)), "mtime %v before the call %v", info.ModTime, before)
	assert.Equal(t, string(markValue), string(get(t, s, "leases/sha256/aa")))

	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(s.Root(), "leases/sha256/aa"), old, old))
	again := time.Now()
	require.NoError(t, store.Mark(ctx, s, "leases/sha256/aa", markValue))
	info, err = s.Stat(ctx, "leases/sha256/aa")
	require.NoError(t, err)
	assert.False(t, info.ModTime.Before(again.Truncate(time.Second)), "a second Mark refreshes the time: %v", info.ModTime)
	assert.Equal(t, string(markValue), string(get(t, s, "leases/sha256/aa")))

	require.NoError(t, s.Delete(ctx, "leases/sha256/aa"))
	require.NoError(t, store.Mark(ctx, s, "leases/sha256/aa", markValue))
	assert.Equal(t, string(markValue), string(get(t, s, "leases/sha256/aa")))

	err = store.Mark(ctx, s, "leases/sha256", markValue)
	var ik *store.InvalidKeyError
	require.ErrorAs(t, err, &ik, "a folder of other keys is not a key: %v", err)
	err = store.Mark(ctx, s, ".tmp/x", markValue)
	require.ErrorAs(t, err, &ik, "a reserved key: %v", err)
}

// TestFSMarkDurability: a SYNCED Mark fsyncs what it changed (the new file
// and its folder; the file whose time it set); a DEFERRED Mark of a key the
// checker names syncs nothing once the boot's marker is durable, and one
// of a key it does not name is synced.
func TestFSMarkDurability(t *testing.T) {
	ctx := context.Background()
	synced, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, store.Mark(ctx, synced, "links/a", markValue))
	assert.EqualValues(t, 2, store.Syncs(synced), "a new key: file and folder")
	require.NoError(t, store.Mark(ctx, synced, "links/a", markValue))
	assert.EqualValues(t, 3, store.Syncs(synced), "a time set: the file")

	root := t.TempDir()
	d, err := store.NewFS(root, store.Deferred(func(key string) (func(io.Reader) error, bool) {
		if filepath.Dir(key) != "links" {
			return nil, false
		}
		return func(r io.Reader) error {
			b, err := io.ReadAll(r)
			if err == nil && !bytes.Equal(b, markValue) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}, true
	}), store.WithBootForTest("boot:mark"))
	require.NoError(t, err)
	require.NoError(t, store.Mark(ctx, d, "links/a", markValue))
	assert.EqualValues(t, 2, store.Syncs(d), "the boot's marker only")
	assert.Equal(t, []string{"boot:mark"}, markers(t, root))
	for i := 0; i < 5; i++ {
		require.NoError(t, store.Mark(ctx, d, "links/a", markValue))
		require.NoError(t, store.Mark(ctx, d, "links/b", markValue))
	}
	assert.EqualValues(t, 2, store.Syncs(d), "checkable marks sync nothing")
	require.NoError(t, store.Mark(ctx, d, "records/r", markValue))
	assert.EqualValues(t, 4, store.Syncs(d), "a key the checker does not name is synced")
}

// TestFSMarkConcurrent: many goroutines marking the same few keys at once
// all succeed and leave each key whole.
func TestFSMarkConcurrent(t *testing.T) {
	ctx := context.Background()
	s, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, k := range []string{"leases/x/1", "leases/x/2", "leases/y/1"} {
					if err := store.Mark(ctx, s, k, markValue); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, k := range []string{"leases/x/1", "leases/x/2", "leases/y/1"} {
		assert.Equal(t, string(markValue), string(get(t, s, k)))
	}
}
