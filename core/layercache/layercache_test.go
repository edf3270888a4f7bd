package layercache_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/layercache"
	"github.com/swcli/swcli/internal/linkfile"
)

var files = map[string]string{
	"lib/python3.11/site-packages/demo/__init__.py":            "x = 1\n",
	"lib/python3.11/site-packages/demo-1.0.dist-info/RECORD":   "demo/__init__.py,,\n",
	"lib/python3.11/site-packages/demo-1.0.dist-info/METADATA": "Name: demo\n",
	"bin/demo":       "#!/prefix/bin/python\n",
	"share/data.txt": "@@PREFIX@@\n",
}

func fill(dir string) error {
	for p, c := range files {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TestPlaceLinksSharedFilesAndCopiesOwnedOnes places one layer into two
// environments with hardlinks: package files share the cache's inode, the
// files relocation rewrites (bin/, RECORD, the relocation list) do not.
func TestPlaceLinksSharedFilesAndCopiesOwnedOnes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	c := layercache.New(root, linkfile.Hardlink, nil)
	d := digest.FromString("layer one")
	own := map[string]bool{"share/data.txt": true}
	a, b := t.TempDir(), t.TempDir()
	pl, err := c.Place(ctx, d, a, own, fill)
	require.NoError(t, err)
	assert.True(t, pl.Unpacked)
	assert.Equal(t, []layercache.Dist{{Name: "demo", Version: "1.0"}}, pl.Dists)
	pl, err = c.Place(ctx, d, b, own, func(string) error { t.Fatal("filled twice"); return nil })
	require.NoError(t, err)
	assert.False(t, pl.Unpacked)
	assert.Equal(t, []layercache.Dist{{Name: "demo", Version: "1.0"}}, pl.Dists, "known from the manifest when linked")
	for p, content := range files {
		fa, fb := filepath.Join(a, p), filepath.Join(b, p)
		got, err := os.ReadFile(fb)
		require.NoError(t, err)
		assert.Equal(t, content, string(got))
		sa, _ := os.Stat(fa)
		sb, _ := os.Stat(fb)
		if own[p] || layercache.Owned(p) {
			assert.False(t, os.SameFile(sa, sb), "%s is the environment's own", p)
			assert.NotZero(t, sb.Mode().Perm()&0o200, "%s is writable", p)
		} else {
			assert.True(t, os.SameFile(sa, sb), "%s is linked", p)
		}
	}
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, 1, st.Entries)
	assert.Positive(t, st.Bytes)

	// GC: a dry run frees nothing, then an entry no version uses goes.
	d2 := digest.FromString("layer two")
	_, err = c.Place(ctx, d2, t.TempDir(), nil, fill)
	require.NoError(t, err)
	freed, kept, err := c.GC(ctx, map[digest.Digest]bool{d: true}, true)
	require.NoError(t, err)
	assert.Equal(t, 1, freed.Entries)
	assert.Equal(t, 1, kept.Entries)
	st, _ = c.Stats()
	assert.Equal(t, 2, st.Entries, "dry run")
	_, _, err = c.GC(ctx, map[digest.Digest]bool{d: true}, false)
	require.NoError(t, err)
	st, _ = c.Stats()
	assert.Equal(t, 1, st.Entries)
	_, err = os.Stat(filepath.Join(a, "bin", "demo"))
	assert.NoError(t, err, "environments keep their files after gc")
}

func TestBadDigest(t *testing.T) {
	c := layercache.New(t.TempDir(), linkfile.Auto, nil)
	_, err := c.Place(context.Background(), "sha256:../x", t.TempDir(), nil, fill)
	assert.Error(t, err)
}
