package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// faultStore fails the failAt-th write (Put or Delete, counting from 1) and
// every write after it, as a store that goes away in the middle would.
type faultStore struct {
	store.Store
	mu      sync.Mutex
	writes  int
	failAt  int
	tripped bool
}

var errInjected = errors.New("injected store fault")

func (f *faultStore) write() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes >= f.failAt {
		f.tripped = true
		return errInjected
	}
	return nil
}

func (f *faultStore) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.Store.Put(ctx, key, r, opts)
}

func (f *faultStore) Delete(ctx context.Context, key string) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key)
}

// TestRemoveRuntimeFaultInTheMiddle removes a runtime of three versions
// (one with a user tag) through a store that fails at its 1st, 2nd, ...
// write, until a removal goes through without a fault. After each failure:
// RemoveRuntime run again finishes the job (and soft-removed versions all
// come back with Recover, tags included); and, on a second store cut at
// the same point, a registry sees either every version as it was (the
// fault came before the removal record) or none of them live, never some
// removed and others not.
func TestRemoveRuntimeFaultInTheMiddle(t *testing.T) {
	setup := func(t *testing.T, force bool, failAt int) (*registry.Registry, []registry.Version, bool) {
		fs := newFS(t)
		r := registry.New(fs)
		var all []registry.Version
		for i, seed := range []string{"one", "two", "three"} {
			var tags []string
			if i == 1 {
				tags = []string{"stable"}
			}
			all = append(all, build(t, r, "self", "rt", seed, tags...))
		}
		fault := &faultStore{Store: fs, failAt: failAt}
		removed, err := registry.New(fault).RemoveRuntime(ctx, "self", "rt", force)
		if !fault.tripped {
			require.NoError(t, err)
			require.Len(t, removed, 3)
			assert.Equal(t, all[2].Digest, removed[0].Digest, "newest first")
			return r, all, false
		}
		require.ErrorIs(t, err, errInjected, "failAt %d", failAt)
		return registry.New(fs), all, true
	}
	// noneLive: no version of rt is live (the runtime's trash may hold them).
	noneLive := func(t *testing.T, r *registry.Registry, failAt int) {
		live, err := r.ListVersions(ctx, "self", "rt", false)
		if err != nil {
			var nf *registry.NotFoundError
			require.ErrorAs(t, err, &nf, "failAt %d", failAt)
		}
		require.Empty(t, live, "failAt %d", failAt)
	}
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			for failAt := 1; ; failAt++ {
				// Run again: done.
				r, all, cut := setup(t, force, failAt)
				if !cut {
					t.Logf("force=%v: the removal takes %d writes; a fault at each of them was survived", force, failAt-1)
					return
				}
				removed, err := r.RemoveRuntime(ctx, "self", "rt", force)
				require.NoError(t, err, "failAt %d", failAt)
				require.Len(t, removed, 3, "failAt %d", failAt)
				noneLive(t, r, failAt)
				gone, err := r.ListVersions(ctx, "self", "rt", true)
				if force {
					require.Error(t, err, "failAt %d: versions removed for good are still listed: %v", failAt, gone)
				} else {
					require.NoError(t, err)
					require.Len(t, gone, 3)
					for _, v := range all {
						_, err := r.Recover(ctx, "self", "rt", string(v.Digest))
						require.NoError(t, err, "failAt %d", failAt)
					}
					assert.Contains(t, tagsOf(t, r, "self", "rt", string(all[1].Digest)), "stable")
					assert.Contains(t, tagsOf(t, r, "self", "rt", "latest"), "v2")
				}

				// What anyone sees after the same cut.
				r, _, _ = setup(t, force, failAt)
				if failAt == 1 {
					live, err := r.ListVersions(ctx, "self", "rt", false)
					require.NoError(t, err)
					require.Len(t, live, 3, "a fault at the removal record changes nothing")
					continue
				}
				_, err = r.Resolve(ctx, "self", "rt", "stable")
				require.Error(t, err, "failAt %d: the tag of a removed version resolves", failAt)
				noneLive(t, r, failAt)
			}
		})
	}
}

// TestRemoveRuntimeFinishedByOthers: a removal cut short after its record
// is finished by whatever looks at the runtime next: a listing of the
// project, or a build of one of its versions again (which then comes back,
// after the removal, instead of being removed by it).
func TestRemoveRuntimeFinishedByOthers(t *testing.T) {
	cut := func(t *testing.T) (*store.FS, *registry.Registry) {
		fs := newFS(t)
		r := registry.New(fs)
		build(t, r, "self", "rt", "one")
		build(t, r, "self", "rt", "two")
		build(t, r, "self", "other", "x")
		// The record and one version's removal get through.
		fault := &faultStore{Store: fs, failAt: 4}
		_, err := registry.New(fault).RemoveRuntime(ctx, "self", "rt", false)
		require.ErrorIs(t, err, errInjected)
		return fs, registry.New(fs)
	}
	t.Run("list", func(t *testing.T) {
		_, r := cut(t)
		sums, err := r.ListRuntimes(ctx, "self", false)
		require.NoError(t, err)
		require.Len(t, sums, 1)
		assert.Equal(t, "other", sums[0].Name)
		sums, err = r.ListRuntimes(ctx, "self", true)
		require.NoError(t, err)
		require.Len(t, sums, 2)
		assert.Equal(t, 2, sums[1].Versions, "both versions of rt in the trash")
	})
	t.Run("rebuild", func(t *testing.T) {
		_, r := cut(t)
		v := build(t, r, "self", "rt", "one")
		assert.False(t, v.Removed)
		live, err := r.ListVersions(ctx, "self", "rt", false)
		require.NoError(t, err)
		require.Len(t, live, 1)
		assert.Equal(t, v.Digest, live[0].Digest)
	})
}

// recordingStore keeps the last bytes written to a key ending in leaf.
type recordingStore struct {
	store.Store
	leaf string
	mu   sync.Mutex
	last []byte
}

func (s *recordingStore) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
	if !strings.HasSuffix(key, "/"+s.leaf) {
		return s.Store.Put(ctx, key, r, opts)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.last = b
	s.mu.Unlock()
	return s.Store.Put(ctx, key, bytes.NewReader(b), opts)
}

// TestRemoveRuntimeFinishedLateKeepsLaterChanges replays a removal record
// after its removal completed, as a reader does that read the record just
// before the removal finished and settles it late: a version recovered
// from that removal since, and a version pushed again after a removal for
// good, must stay live.
func TestRemoveRuntimeFinishedLateKeepsLaterChanges(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			fs := newFS(t)
			rec := &recordingStore{Store: fs, leaf: "removal"}
			r := registry.New(rec)
			v1 := build(t, r, "self", "rt", "one")
			build(t, r, "self", "rt", "two")
			_, err := r.RemoveRuntime(ctx, "self", "rt", force)
			require.NoError(t, err)
			require.NotEmpty(t, rec.last)
			var again registry.Version
			if force {
				again = build(t, r, "self", "rt", "one") // same digest, new number
				require.Equal(t, v1.Digest, again.Digest)
			} else {
				again, err = r.Recover(ctx, "self", "rt", v1.Digest.String())
				require.NoError(t, err)
			}
			// The late reader: the record it read is back, and the next
			// look at the runtime settles it.
			require.NoError(t, fs.Put(ctx, "projects/self/runtimes/rt/removal", bytes.NewReader(rec.last), store.PutOptions{}))
			live, err := r.ListVersions(ctx, "self", "rt", false)
			require.NoError(t, err)
			require.Len(t, live, 1, "the late finish of the removal undid a later change")
			assert.Equal(t, again.Digest, live[0].Digest)
			got, err := r.Resolve(ctx, "self", "rt", "latest")
			require.NoError(t, err)
			assert.Equal(t, again.Digest, got.Digest)
		})
	}
}
