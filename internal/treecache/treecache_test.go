package treecache_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/filehash"
	"github.com/swcli/swcli/internal/linkfile"
	"github.com/swcli/swcli/internal/treecache"
)

func fillTree(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "pkg", "sub"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg", "a.py"), []byte("print('a')\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg", "sub", "tool"), []byte("#!/bin/sh\necho tool\n"), 0o755); err != nil {
		return err
	}
	return os.Symlink("a.py", filepath.Join(dir, "pkg", "link.py"))
}

func use(t *testing.T, c *treecache.Cache, key, target string) (filled bool) {
	t.Helper()
	l := &linkfile.Linker{Mode: linkfile.Auto}
	require.NoError(t, c.Use(context.Background(), key, fillTree, func(dir string, m treecache.Manifest, f bool) error {
		filled = f
		return treecache.LinkTree(dir, m, target, treecache.Placement{Linker: l})
	}))
	return filled
}

func TestFillOnceLinkAfter(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	a, b := t.TempDir(), t.TempDir()
	assert.True(t, use(t, c, "k1", a))
	assert.False(t, use(t, c, "k1", b))
	for _, d := range []string{a, b} {
		got, err := os.ReadFile(filepath.Join(d, "pkg", "a.py"))
		require.NoError(t, err)
		assert.Equal(t, "print('a')\n", string(got))
		tgt, err := os.Readlink(filepath.Join(d, "pkg", "link.py"))
		require.NoError(t, err)
		assert.Equal(t, "a.py", tgt)
		st, err := os.Stat(filepath.Join(d, "pkg", "sub", "tool"))
		require.NoError(t, err)
		assert.NotZero(t, st.Mode().Perm()&0o100, "executable bit kept")
	}
	st, err := os.Stat(filepath.Join(c.EntryDir("k1"), "pkg", "a.py"))
	require.NoError(t, err)
	assert.Zero(t, st.Mode().Perm()&0o222, "cached files are read-only")
	ents, err := c.Entries()
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Equal(t, int64(len("print('a')\n")+len("#!/bin/sh\necho tool\n")), ents[0].Size)
	require.NoError(t, c.Remove(context.Background(), "k1"))
	assert.False(t, c.Has("k1"))
}

// damages are the ways a cached file can be spoiled; each must be
// detected, and the entry unpacked again, never linked as it is.
var damages = map[string]func(p string) error{
	"removed":   os.Remove,
	"truncated": func(p string) error { return os.Truncate(p, 3) },
	"changed": func(p string) error {
		// same size, new content; the mtime moves as any write moves it
		if err := os.Chmod(p, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte("print('X')\n"), 0o644); err != nil {
			return err
		}
		later := time.Now().Add(time.Minute)
		return os.Chtimes(p, later, later)
	},
	"changed-same-mtime": func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return err
		}
		// a copy back over the file: new inode, same size and mtime
		if err := os.Remove(p); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte("print('X')\n"), 0o444); err != nil {
			return err
		}
		return os.Chtimes(p, st.ModTime(), st.ModTime())
	},
	"folder-removed": func(p string) error { return os.RemoveAll(filepath.Dir(p)) },
}

// TestDamagedEntryIsRefilled spoils a cached file in each way of damages:
// Verify sees it, and Use fills the entry again before using it.
func TestDamagedEntryIsRefilled(t *testing.T) {
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			c := &treecache.Cache{Root: t.TempDir()}
			use(t, c, "k", t.TempDir())
			require.NoError(t, damage(filepath.Join(c.EntryDir("k"), "pkg", "a.py")))
			assert.Error(t, c.Verify(context.Background(), "k"))
			dst := t.TempDir()
			assert.True(t, use(t, c, "k", dst), "a damaged entry is filled again")
			got, err := os.ReadFile(filepath.Join(dst, "pkg", "a.py"))
			require.NoError(t, err)
			assert.Equal(t, "print('a')\n", string(got))
			assert.NoError(t, c.Verify(context.Background(), "k"))
		})
	}
}

// TestPlaceRefillsDamagedEntry spoils a cached file in each way of
// damages: Place, which checks each file as it links it, notices, fills the
// entry again and places it again, so every file of the target is the new
// entry's (none is the damaged one, nor a link into the removed entry).
func TestPlaceRefillsDamagedEntry(t *testing.T) {
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			c := &treecache.Cache{Root: t.TempDir()}
			var logs []string
			c.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
			p := treecache.Placement{Linker: &linkfile.Linker{Mode: linkfile.Hardlink}}
			_, filled, err := c.Place(context.Background(), "k", fillTree, t.TempDir(), p)
			require.NoError(t, err)
			require.True(t, filled)
			require.NoError(t, damage(filepath.Join(c.EntryDir("k"), "pkg", "sub", "tool")))
			dst := t.TempDir()
			_, filled, err = c.Place(context.Background(), "k", fillTree, dst, p)
			require.NoError(t, err)
			assert.True(t, filled, "a damaged entry is filled again")
			assert.Len(t, logs, 1, "the damage is said once: %v", logs)
			for _, f := range []string{"pkg/a.py", "pkg/sub/tool"} {
				got, err := os.Stat(filepath.Join(dst, f))
				require.NoError(t, err)
				want, err := os.Stat(filepath.Join(c.EntryDir("k"), f))
				require.NoError(t, err)
				assert.True(t, os.SameFile(got, want), "%s is linked from the new entry", f)
			}
			b, err := os.ReadFile(filepath.Join(dst, "pkg", "sub", "tool"))
			require.NoError(t, err)
			assert.Equal(t, "#!/bin/sh\necho tool\n", string(b))
			assert.NoError(t, c.Verify(context.Background(), "k"))
		})
	}
}

// TestPlaceMergesAndReplaces places two entries into one target: folders
// they share are merged, a file both have is the later one's, a skipped
// folder is left out, an own file is a copy, and a symlink is made from
// the manifest.
func TestPlaceMergesAndReplaces(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	dst := t.TempDir()
	p := treecache.Placement{Linker: &linkfile.Linker{Mode: linkfile.Hardlink},
		Own: func(p string) bool { return p == "pkg/a.py" }}
	_, _, err := c.Place(context.Background(), "one", fillTree, dst, p)
	require.NoError(t, err)
	other := func(dir string) error {
		if err := os.MkdirAll(filepath.Join(dir, "pkg", "skip"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "pkg", "skip", "x"), nil, 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "pkg", "sub", "tool"), []byte("two\n"), 0o755)
	}
	two := func(dir string) error {
		if err := os.MkdirAll(filepath.Join(dir, "pkg", "sub"), 0o755); err != nil {
			return err
		}
		return other(dir)
	}
	p.Skip = func(p string) bool { return p == "pkg/skip" }
	_, _, err = c.Place(context.Background(), "two", two, dst, p)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dst, "pkg", "sub", "tool"))
	require.NoError(t, err)
	assert.Equal(t, "two\n", string(b), "the later entry's file replaces the earlier one's")
	_, err = os.Lstat(filepath.Join(dst, "pkg", "skip"))
	assert.True(t, os.IsNotExist(err), "a skipped folder is left out")
	tgt, err := os.Readlink(filepath.Join(dst, "pkg", "link.py"))
	require.NoError(t, err)
	assert.Equal(t, "a.py", tgt)
	own, _ := os.Stat(filepath.Join(dst, "pkg", "a.py"))
	cached, _ := os.Stat(filepath.Join(c.EntryDir("one"), "pkg", "a.py"))
	assert.False(t, os.SameFile(own, cached), "an own file is a copy")
	assert.Equal(t, cached.ModTime(), own.ModTime(), "with the cached file's mtime")
	assert.NotZero(t, own.Mode().Perm()&0o200, "and writable")
}

// TestOldFormatEntryIsFilledAgain puts an entry of an older format (a
// JSON manifest) where Place looks: it is no entry, so it is replaced.
func TestOldFormatEntryIsFilledAgain(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	old := c.EntryDir("k")
	require.NoError(t, os.MkdirAll(filepath.Join(old, "pkg"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(old, ".treecache.json"), []byte(`{"key":"k","items":[]}`), 0o444))
	require.NoError(t, os.WriteFile(filepath.Join(old, "pkg", "stale.py"), nil, 0o444))
	assert.False(t, c.Has("k"))
	dst := t.TempDir()
	_, filled, err := c.Place(context.Background(), "k", fillTree, dst, treecache.Placement{Linker: &linkfile.Linker{}})
	require.NoError(t, err)
	assert.True(t, filled)
	_, err = os.Stat(filepath.Join(old, "pkg", "stale.py"))
	assert.True(t, os.IsNotExist(err), "the old entry's files are gone")
	_, err = os.Stat(filepath.Join(dst, "pkg", "a.py"))
	assert.NoError(t, err)
	assert.NoError(t, c.Verify(context.Background(), "k"))
}

// TestConcurrentFillsMakeOneEntry runs fills of one key at once (each with
// its own open of the lock, as two processes would), by Use and by Place:
// all succeed, one fills.
func TestConcurrentFillsMakeOneEntry(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	var fills atomic.Int32
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			dst := t.TempDir()
			fill := func(dir string) error {
				fills.Add(1)
				return fillTree(dir)
			}
			p := treecache.Placement{Linker: &linkfile.Linker{}}
			if i%2 == 1 {
				_, _, errs[i] = c.Place(context.Background(), "k", fill, dst, p)
				return
			}
			errs[i] = c.Use(context.Background(), "k", fill, func(dir string, m treecache.Manifest, _ bool) error {
				return treecache.LinkTree(dir, m, dst, p)
			})
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(1), fills.Load())
	ents, _ := c.Entries()
	assert.Len(t, ents, 1)
}

// TestKilledFillLeavesNoEntry kills a child process with SIGKILL at each
// hook point of a fill: the entry never looks complete, and the next Use
// fills it and clears what the child left.
func TestKilledFillLeavesNoEntry(t *testing.T) {
	if root := os.Getenv("TREECACHE_CHILD_ROOT"); root != "" {
		point := os.Getenv("TREECACHE_CHILD_POINT")
		c := &treecache.Cache{Root: root, Hook: func(p string) {
			if p == point {
				fmt.Println("AT", p)
				select {} // wait to be killed
			}
		}}
		_ = c.Use(context.Background(), "k", fillTree, func(string, treecache.Manifest, bool) error { return nil })
		os.Exit(3)
	}
	for _, point := range []string{"filled", "manifest"} {
		t.Run(point, func(t *testing.T) {
			root := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKilledFillLeavesNoEntry$")
			cmd.Env = append(os.Environ(), "TREECACHE_CHILD_ROOT="+root, "TREECACHE_CHILD_POINT="+point)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			line, err := bufio.NewReader(out).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "AT "+point+"\n", line)
			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			c := &treecache.Cache{Root: root}
			assert.False(t, c.Has("k"), "a killed fill must not look complete")
			left, _ := filepath.Glob(filepath.Join(root, "tmp", "k.*"))
			assert.NotEmpty(t, left, "the child's temp folder is there (it was killed mid-fill)")
			assert.True(t, use(t, c, "k", t.TempDir()))
			left, _ = filepath.Glob(filepath.Join(root, "tmp", "k.*"))
			assert.Empty(t, left, "the next fill cleared it")
			assert.NoError(t, c.Verify(context.Background(), "k"))
		})
	}
}

func TestBadKey(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	err := c.Use(context.Background(), "../x", fillTree, func(string, treecache.Manifest, bool) error { return nil })
	var ke *treecache.KeyError
	assert.ErrorAs(t, err, &ke)
}

// TestPruneDropsEntriesWhoseRequiresAreGone fills one entry that requires
// a file and one that requires nothing; Prune (dry run first) drops only
// the first once the file is removed, and says its size.
func TestPruneDropsEntriesWhoseRequiresAreGone(t *testing.T) {
	ctx := context.Background()
	c := &treecache.Cache{Root: t.TempDir()}
	interp := filepath.Join(t.TempDir(), "python3")
	require.NoError(t, os.WriteFile(interp, []byte("x"), 0o755))
	fill := func(dir string) error {
		if err := fillTree(dir); err != nil {
			return err
		}
		return treecache.WriteRequires(dir, []string{interp})
	}
	noop := func(string, treecache.Manifest, bool) error { return nil }
	require.NoError(t, c.Use(ctx, "needs", fill, func(dir string, m treecache.Manifest, _ bool) error {
		assert.Equal(t, []string{interp}, m.Requires)
		_, err := os.Lstat(filepath.Join(dir, treecache.RequiresName))
		assert.True(t, os.IsNotExist(err), "the requires list lives in the manifest, not as a file of the entry")
		return nil
	}))
	require.NoError(t, c.Use(ctx, "free", fillTree, noop))

	gone, err := c.Prune(ctx, false)
	require.NoError(t, err)
	assert.Empty(t, gone, "the interpreter still exists")

	require.NoError(t, os.Remove(interp))
	gone, err = c.Prune(ctx, true)
	require.NoError(t, err)
	require.Len(t, gone, 1)
	assert.Equal(t, "needs", gone[0].Key)
	assert.Equal(t, interp, gone[0].Missing)
	assert.Equal(t, int64(len("print('a')\n")+len("#!/bin/sh\necho tool\n")), gone[0].Size)
	assert.True(t, c.Has("needs"), "a dry run removes nothing")

	gone, err = c.Prune(ctx, false)
	require.NoError(t, err)
	require.Len(t, gone, 1)
	assert.False(t, c.Has("needs"))
	assert.True(t, c.Has("free"))
}

// A fill's sums (WriteSums) go into the manifest for files of that size;
// a file without one, or whose size differs, is hashed from its bytes.
// The sums are kept outside the entry and gone once it is sealed.
func TestSealTakesTheFillsSums(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	const given = 0x5eed5eed // not the real sum: shows it was taken, not computed
	var sumsFile string
	fill := func(dir string) error {
		if err := fillTree(dir); err != nil {
			return err
		}
		sumsFile = filepath.Clean(dir) + ".sums"
		return treecache.WriteSums(dir, map[string]treecache.Sum{
			"pkg/a.py":     {Size: int64(len("print('a')\n")), XXH64: given},
			"pkg/sub/tool": {Size: 1, XXH64: 42}, // of the wrong size: not taken
		})
	}
	var got treecache.Manifest
	require.NoError(t, c.Use(context.Background(), "k", fill, func(_ string, m treecache.Manifest, _ bool) error {
		got = m
		return nil
	}))
	sums := map[string]uint64{}
	for _, it := range got.Items {
		sums[it.Path] = it.XXH64
	}
	assert.Equal(t, uint64(given), sums["pkg/a.py"])
	want, err := filehash.XXH64(filepath.Join(c.EntryDir("k"), "pkg", "sub", "tool"))
	require.NoError(t, err)
	assert.Equal(t, want, sums["pkg/sub/tool"])
	assert.NoFileExists(t, sumsFile)
	_, err = os.Lstat(filepath.Join(c.EntryDir("k"), filepath.Base(sumsFile)))
	assert.True(t, os.IsNotExist(err))
	st, err := os.Stat(filepath.Join(c.EntryDir("k"), "pkg", "a.py"))
	require.NoError(t, err)
	assert.Zero(t, st.Mode().Perm()&0o222, "sealed read-only")
}

// A file the fill made read-only, with the mode it is meant to have in its
// Sum, is recorded with that mode (what an owned copy gets) and left as
// it is; its later damage is still seen.
func TestSealTakesAReadOnlyFillsModes(t *testing.T) {
	c := &treecache.Cache{Root: t.TempDir()}
	body := "print('ro')\n"
	var ino uint64
	fill := func(dir string) error {
		s, err := writeReadOnly(dir, "pkg/ro.py", body)
		if err != nil {
			return err
		}
		ino = s.Inode
		return treecache.WriteSums(dir, map[string]treecache.Sum{"pkg/ro.py": {Size: s.Size, XXH64: s.XXH64, Mode: 0o644}})
	}
	var got treecache.Manifest
	require.NoError(t, c.Use(context.Background(), "k", fill, func(_ string, m treecache.Manifest, _ bool) error {
		got = m
		return nil
	}))
	var it treecache.Item
	for _, i := range got.Items {
		if i.Path == "pkg/ro.py" {
			it = i
		}
	}
	require.Equal(t, fs.FileMode(0o644), it.Mode)
	require.Equal(t, ino, it.Inode)
	p := filepath.Join(c.EntryDir("k"), "pkg", "ro.py")
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o444), st.Mode().Perm())

	target := t.TempDir()
	l := &linkfile.Linker{Mode: linkfile.Copy}
	require.NoError(t, c.Use(context.Background(), "k", fill, func(dir string, m treecache.Manifest, _ bool) error {
		return treecache.LinkTree(dir, m, target, treecache.Placement{Linker: l, Own: func(string) bool { return true }})
	}))
	st, err = os.Stat(filepath.Join(target, "pkg", "ro.py"))
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o644), st.Mode().Perm(), "an owned copy is writable")

	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, []byte("print('RO')\n"), 0o644))
	require.Error(t, c.Verify(context.Background(), "k"))
}

// A read-only file whose Sum gives its inode and mtime (the fill's fstat)
// is recorded as the Sum says, without a stat; if the Sum is wrong about
// it, placing the entry finds out: a wrong mtime is checked by content, a
// wrong content is damage.
func TestSealTakesAFillsStat(t *testing.T) {
	body := "print('st')\n"
	mk := func(lie func(*treecache.Sum)) func(dir string) error {
		return func(dir string) error {
			s, err := writeReadOnly(dir, "pkg/st.py", body)
			if err != nil {
				return err
			}
			lie(&s)
			return treecache.WriteSums(dir, map[string]treecache.Sum{"pkg/st.py": s})
		}
	}
	place := func(fill func(string) error) (treecache.Item, error) {
		c := &treecache.Cache{Root: t.TempDir()}
		var it treecache.Item
		err := c.Use(context.Background(), "k", fill, func(dir string, m treecache.Manifest, _ bool) error {
			for _, i := range m.Items {
				if i.Path == "pkg/st.py" {
					it = i
				}
			}
			return treecache.LinkTree(dir, m, t.TempDir(), treecache.Placement{Linker: &linkfile.Linker{Mode: linkfile.Hardlink}})
		})
		return it, err
	}
	it, err := place(mk(func(*treecache.Sum) {}))
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o644), it.Mode)
	require.Equal(t, int64(len(body)), it.Size)

	it, err = place(mk(func(s *treecache.Sum) { s.MTimeNS = 12345 }))
	require.NoError(t, err, "same content: placed after its hash is checked")
	require.Equal(t, int64(12345), it.MTimeNS, "taken from the sum, not a stat")

	_, err = place(mk(func(s *treecache.Sum) { s.MTimeNS, s.XXH64 = 12345, 42 }))
	var de *treecache.DamageError
	require.ErrorAs(t, err, &de)
}

// writeReadOnly writes body to the read-only file rel under dir and
// returns the Sum a fill that fstat'd it would give (Mode 0644).
func writeReadOnly(dir, rel, body string) (treecache.Sum, error) {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return treecache.Sum{}, err
	}
	if err := os.WriteFile(p, []byte(body), 0o444); err != nil {
		return treecache.Sum{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return treecache.Sum{}, err
	}
	sum, err := filehash.XXH64(p)
	return treecache.Sum{Size: st.Size(), XXH64: sum, Mode: 0o644, Inode: st.Sys().(*syscall.Stat_t).Ino, MTimeNS: st.ModTime().UnixNano()}, err
}
