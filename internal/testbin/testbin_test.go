package testbin

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRemoveAbandonedKeepsHeldFolders: a build folder whose .inuse lock is
// held stays; one whose lock nobody holds, and a lock-less one an hour old,
// go; a fresh lock-less one (a build being made) stays.
func TestRemoveAbandonedKeepsHeldFolders(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mk := func(name string) string {
		d := filepath.Join(tmp, name)
		require.NoError(t, os.Mkdir(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "swcli"), []byte("x"), 0o755))
		return d
	}
	live := mk(tempPrefix + "live")
	prev := held
	require.NoError(t, holdFolder(live))
	liveLock := held
	held = prev
	defer liveLock.Close()

	dead := mk(tempPrefix + "dead")
	require.NoError(t, os.WriteFile(filepath.Join(dead, inUseFile), nil, 0o644))
	old := mk(tempPrefix + "old")
	hourAgo := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(old, hourAgo, hourAgo))
	starting := mk(tempPrefix + "starting")
	other := mk("not-ours")
	require.NoError(t, os.WriteFile(filepath.Join(other, inUseFile), nil, 0o644))

	removeAbandoned()

	for d, want := range map[string]bool{live: true, dead: false, old: false, starting: true, other: true} {
		_, err := os.Stat(d)
		require.Equal(t, want, err == nil, "%s kept=%v", filepath.Base(d), err == nil)
	}
}
