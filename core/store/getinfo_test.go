package store_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk/storetest"
)

// statGet hides the FS's GetWithInfo, as a store without the capability.
type statGet struct{ store.Store }

func TestGetWithInfo(t *testing.T) {
	for name, wrap := range map[string]func(*store.FS) store.Store{
		"fs":             func(fs *store.FS) store.Store { return fs },
		"checked":        func(fs *store.FS) store.Store { return store.Checked("fs", fs) },
		"fallback":       func(fs *store.FS) store.Store { return statGet{fs} },
		"checked-fallbk": func(fs *store.FS) store.Store { return store.Checked("plugin", statGet{fs}) },
	} {
		t.Run(name, func(t *testing.T) {
			fs, err := store.NewFS(t.TempDir())
			require.NoError(t, err)
			storetest.GetWithInfo(t, wrap(fs))
		})
	}
}

// The FS's Info is that of the file it opened: a value replaced while it
// is being read keeps its own ETag and bytes.
func TestFSGetWithInfoIsOfTheOpenedFile(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, fs.Put(ctx, "k", strings.NewReader("old"), store.PutOptions{}))
	before, err := fs.Stat(ctx, "k")
	require.NoError(t, err)
	rc, info, err := fs.GetWithInfo(ctx, "k", 0, -1)
	require.NoError(t, err)
	defer rc.Close()
	require.NoError(t, fs.Put(ctx, "k", strings.NewReader("new!"), store.PutOptions{}))
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, "old", string(b))
	require.Equal(t, before.ETag, info.ETag)
	require.Equal(t, int64(3), info.Size)
}

// Checked refuses a bad key before the driver sees it, as Get does.
func TestCheckedGetWithInfoValidates(t *testing.T) {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	c := store.Checked("fs", fs).(store.InfoGetter)
	_, _, err = c.GetWithInfo(context.Background(), "../x", 0, -1)
	var ik *store.InvalidKeyError
	require.ErrorAs(t, err, &ik)
	var de *store.DriverError
	require.ErrorAs(t, err, &de)
	_, _, err = c.GetWithInfo(context.Background(), "k", -1, -1)
	require.Error(t, err)
}
