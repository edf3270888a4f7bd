package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk/storetest"
)

var ctx = context.Background()

func newFS(t *testing.T) *store.FS {
	t.Helper()
	s, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	return s
}

func TestFSConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFS(t) })
}

func put(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	require.NoError(t, s.Put(ctx, key, bytes.NewReader([]byte(value)), store.PutOptions{}))
}

func read(t *testing.T, s store.Store, key string) string {
	t.Helper()
	rc, err := s.Get(ctx, key, 0, -1)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

func keys(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	out := []string{}
	require.NoError(t, s.List(ctx, prefix, func(i store.Info) error {
		out = append(out, i.Key)
		return nil
	}))
	return out
}

func TestFSLayout(t *testing.T) {
	s := newFS(t)
	put(t, s, "blobs/sha256/abc", "content")
	b, err := os.ReadFile(filepath.Join(s.Root(), "blobs", "sha256", "abc"))
	require.NoError(t, err)
	assert.Equal(t, "content", string(b), "a key is a plain file")
	fi, err := os.Stat(filepath.Join(s.Root(), "blobs", "sha256", "abc"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	assert.Equal(t, filepath.Join(s.Root(), ".tmp"), s.TempDir())
	assert.DirExists(t, s.TempDir())
	tmp, _ := os.ReadDir(s.TempDir())
	assert.Empty(t, tmp, "no temporary file is left")
}

func TestFSReservedKeys(t *testing.T) {
	s := newFS(t)
	var ik *store.InvalidKeyError
	for _, key := range []string{".tmp", ".tmp/x", ".locks/00"} {
		assert.ErrorAs(t, s.Put(ctx, key, bytes.NewReader(nil), store.PutOptions{}), &ik, key)
		_, err := s.Stat(ctx, key)
		assert.ErrorAs(t, err, &ik, key)
	}
	put(t, s, "a/.tmp", "allowed below the top")
	put(t, s, ".hidden", "allowed")
	// Lock and temp files exist now, and are never listed.
	f, err := os.CreateTemp(s.TempDir(), "staged-*")
	require.NoError(t, err)
	f.Close()
	assert.Equal(t, []string{".hidden", "a/.tmp"}, keys(t, s, ""))
	assert.Equal(t, []string{".hidden"}, keys(t, s, "."))
	assert.Empty(t, keys(t, s, ".tmp/"))
	assert.Empty(t, keys(t, s, ".locks/"))
}

func TestFSETag(t *testing.T) {
	s := newFS(t)
	put(t, s, "small", "hello")
	require.NoError(t, s.Put(ctx, "edge", bytes.NewReader(make([]byte, 64<<10-1)), store.PutOptions{}))
	edge, err := s.Stat(ctx, "edge")
	require.NoError(t, err)
	assert.Len(t, edge.ETag, 64, "just under 64 KiB: hashed")
	info, err := s.Stat(ctx, "small")
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("hello"))
	assert.Equal(t, hex.EncodeToString(sum[:]), info.ETag, "small values: sha256 of the content")

	big := bytes.Repeat([]byte{1}, 1<<20)
	require.NoError(t, s.Put(ctx, "big", bytes.NewReader(big), store.PutOptions{}))
	a, err := s.Stat(ctx, "big")
	require.NoError(t, err)
	assert.Regexp(t, `^1048576-\d+-\d+$`, a.ETag, "large values (64 KiB and more): size-mtime-inode")
	// Same size, rewritten at once: the ETag still changes.
	require.NoError(t, s.Put(ctx, "big", bytes.NewReader(big), store.PutOptions{}))
	b, err := s.Stat(ctx, "big")
	require.NoError(t, err)
	assert.NotEqual(t, a.ETag, b.ETag)
	var pe *store.PreconditionError
	assert.ErrorAs(t, s.Put(ctx, "big", bytes.NewReader(big), store.PutOptions{IfMatch: a.ETag}), &pe)
	require.NoError(t, s.Put(ctx, "big", bytes.NewReader(big), store.PutOptions{IfMatch: b.ETag}))
}

func TestFSKeyFolderConflict(t *testing.T) {
	s := newFS(t)
	put(t, s, "a/b", "x")
	var ik *store.InvalidKeyError
	assert.ErrorAs(t, s.Put(ctx, "a", bytes.NewReader(nil), store.PutOptions{}), &ik)
	assert.ErrorAs(t, s.Put(ctx, "a", bytes.NewReader(nil), store.PutOptions{IfNoneMatch: true}), &ik)
	assert.ErrorAs(t, s.Put(ctx, "a/b/c", bytes.NewReader(nil), store.PutOptions{}), &ik)
	require.NoError(t, s.Delete(ctx, "a"), "a folder is not a key")
	assert.Equal(t, "x", read(t, s, "a/b"))
	tmp, _ := os.ReadDir(s.TempDir())
	assert.Empty(t, tmp)
}

func TestFSDeletePrunes(t *testing.T) {
	s := newFS(t)
	put(t, s, "p/q/r/s", "x")
	put(t, s, "p/keep", "y")
	require.NoError(t, s.Delete(ctx, "p/q/r/s"))
	assert.NoDirExists(t, filepath.Join(s.Root(), "p", "q"))
	assert.DirExists(t, filepath.Join(s.Root(), "p"))
	require.NoError(t, s.Delete(ctx, "p/keep"))
	assert.NoDirExists(t, filepath.Join(s.Root(), "p"))
	assert.DirExists(t, s.Root())
}

func TestFSIngest(t *testing.T) {
	s := newFS(t)
	var _ store.Ingester = s

	f, err := os.CreateTemp(s.TempDir(), "layer-*")
	require.NoError(t, err)
	_, _ = f.WriteString("layer bytes")
	require.NoError(t, f.Close())
	require.NoError(t, s.Ingest(ctx, "blobs/one", f.Name()))
	assert.NoFileExists(t, f.Name(), "moved, not copied")
	assert.Equal(t, "layer bytes", read(t, s, "blobs/one"))

	// Replace atomically.
	f, err = os.CreateTemp(s.TempDir(), "layer-*")
	require.NoError(t, err)
	_, _ = f.WriteString("other bytes")
	require.NoError(t, f.Close())
	require.NoError(t, s.Ingest(ctx, "blobs/one", f.Name()))
	assert.Equal(t, "other bytes", read(t, s, "blobs/one"))

	var ik *store.InvalidKeyError
	assert.ErrorAs(t, s.Ingest(ctx, "../x", f.Name()), &ik)
	assert.Error(t, s.Ingest(ctx, "blobs/two", filepath.Join(t.TempDir(), "missing")))
}

// TestFSIngestOtherFilesystem needs a tmpfs (/dev/shm) beside the test's
// temporary folder: the rename fails with EXDEV and Ingest copies.
func TestFSIngestOtherFilesystem(t *testing.T) {
	s := newFS(t)
	var a, b syscall.Stat_t
	if syscall.Stat("/dev/shm", &a) != nil || syscall.Stat(s.Root(), &b) != nil || a.Dev == b.Dev {
		t.Skip("no second filesystem at /dev/shm")
	}
	f, err := os.CreateTemp("/dev/shm", "swcli-ingest-*")
	require.NoError(t, err)
	defer os.Remove(f.Name())
	_, _ = f.WriteString("from tmpfs")
	require.NoError(t, f.Close())
	require.NoError(t, s.Ingest(ctx, "x/y", f.Name()))
	assert.Equal(t, "from tmpfs", read(t, s, "x/y"))
	assert.NoFileExists(t, f.Name())
	tmp, _ := os.ReadDir(s.TempDir())
	assert.Empty(t, tmp)
}

func TestFSCleansStaleTemp(t *testing.T) {
	root := t.TempDir()
	s, err := store.NewFS(root)
	require.NoError(t, err)
	old := filepath.Join(s.TempDir(), "put-old")
	fresh := filepath.Join(s.TempDir(), "put-fresh")
	require.NoError(t, os.WriteFile(old, []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("x"), 0o600))
	long := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(old, long, long))
	_, err = store.NewFS(root)
	require.NoError(t, err)
	assert.NoFileExists(t, old)
	assert.FileExists(t, fresh)
}

// TestFSCrossProcess runs increments from several processes at once: the
// flock makes IfMatch atomic across processes.
func TestFSCrossProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	root := t.TempDir()
	const procs, each = 4, 25
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFSHelperProcess$")
		cmd.Env = append(os.Environ(), "SWCLI_FS_HELPER_ROOT="+root, "SWCLI_FS_HELPER_N="+strconv.Itoa(each))
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	s, err := store.NewFS(root)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(procs*each), read(t, s, "counter"))
}

func TestFSHelperProcess(t *testing.T) {
	root := os.Getenv("SWCLI_FS_HELPER_ROOT")
	if root == "" {
		t.Skip("helper for TestFSCrossProcess")
	}
	n, _ := strconv.Atoi(os.Getenv("SWCLI_FS_HELPER_N"))
	s, err := store.NewFS(root)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		require.NoError(t, increment(s, "counter"))
	}
}

func increment(s store.Store, key string) error {
	for {
		info, err := s.Stat(ctx, key)
		var nf *store.NotFoundError
		switch {
		case errors.As(err, &nf):
			err = s.Put(ctx, key, bytes.NewReader([]byte("1")), store.PutOptions{IfNoneMatch: true})
		case err == nil:
			rc, gerr := s.Get(ctx, key, 0, -1)
			if gerr != nil {
				return gerr
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			v, perr := strconv.Atoi(string(b))
			if perr != nil {
				return fmt.Errorf("counter %q: %w", b, perr)
			}
			err = s.Put(ctx, key, bytes.NewReader([]byte(strconv.Itoa(v+1))), store.PutOptions{IfMatch: info.ETag})
		}
		var pe *store.PreconditionError
		if !errors.As(err, &pe) {
			return err
		}
	}
}
