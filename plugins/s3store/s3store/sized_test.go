package s3store_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/plugins/s3store/s3store"
	"github.com/swcli/swcli/sdk/sdktest"
)

// TestPutSizedAbort: a sized Put streamed into parts whose reader fails
// (in the middle of a part, or with its last bytes) or gives too few
// bytes leaves the old value and no multipart upload behind, in-process
// and through the plugin protocol (whose Put returns once the plugin has
// aborted: the host half-closes the raw channel and waits for the status).
func TestPutSizedAbort(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	size := int64(3*s3store.MinPartSize + 100)
	for _, via := range []string{"in-process", "grpc"} {
		var s store.Store = newStore(t, srv, bucket, via, s3store.MinPartSize)
		if via == "grpc" {
			s = sdktest.StoreOverGRPC(t, s, s3store.PluginInfo("test"))
		}
		require.NoError(t, s.Put(ctx, "k", bytes.NewReader([]byte("old")), store.PutOptions{}))
		for name, r := range map[string]io.Reader{
			"broken in a part":  &brokenReader{n: 2*s3store.MinPartSize + 10},
			"broken at the end": io.MultiReader(bytes.NewReader(make([]byte, size-1)), &brokenReader{}),
			"short":             bytes.NewReader(make([]byte, size-1)),
		} {
			err := store.PutSized(ctx, s, "k", r, size, store.PutOptions{})
			require.Error(t, err, "%s, %s", via, name)
			assert.Equal(t, 0, uploads(t, srv, bucket), "%s, %s: the upload is aborted", via, name)
		}
		rc, err := s.Get(ctx, "k", 0, -1)
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		assert.Equal(t, "old", string(b), via)
	}
}
