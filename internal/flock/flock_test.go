package flock_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/flock"
)

// TestLockExcludesAnotherOpen: a second open of the same file waits while
// the first holds the lock (its wait ends with its context), and gets the
// lock once the first lets go.
func TestLockExcludesAnotherOpen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	a, err := os.Create(p)
	require.NoError(t, err)
	defer a.Close()
	b, err := os.Open(p)
	require.NoError(t, err)
	defer b.Close()

	unlockA, err := flock.Lock(context.Background(), a)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = flock.Lock(ctx, b)
	require.ErrorIs(t, err, context.Canceled, "b cannot have it while a holds it")

	unlockA()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	unlockB, err := flock.Lock(ctx2, b)
	require.NoError(t, err)
	unlockB()
}
