package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// TestFSPutWhileDeletePrunes: Puts of new keys under a shared folder while
// Deletes of their siblings prune that folder whenever it is empty (as
// upload sessions do under uploads/). A Put must never fail because the
// folder it was making was pruned under it.
func TestFSPutWhileDeletePrunes(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	const workers, rounds = 6, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				k := fmt.Sprintf("uploads/w%d-%d/session", w, i)
				if err := fs.Put(ctx, k, strings.NewReader("{}"), store.PutOptions{IfNoneMatch: true}); err != nil {
					errs <- err
					return
				}
				if err := fs.Delete(ctx, k); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
