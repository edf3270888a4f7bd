package pluginwire_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire"
)

// serveFS serves a filesystem store over a unix socket with a gRPC server
// made by newServer, and returns a StoreClient dialed with dialOpts.
func serveFS(t *testing.T, newServer func([]grpc.ServerOption) *grpc.Server, dialOpts []grpc.DialOption) store.Store {
	t.Helper()
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	return serveWith(t, fs, newServer, dialOpts)
}

func serveWith(t *testing.T, fs store.Store, newServer func([]grpc.ServerOption) *grpc.Server, dialOpts []grpc.DialOption) store.Store {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "plugin.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := newServer(nil)
	pluginwire.RegisterStore(srv, fs, nil)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, dialOpts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return pluginwire.NewStoreClient(conn)
}

// TestTransportWindows: values larger than the flow-control window and
// than a chunk cross intact, whole and by range, between a host and a
// plugin that both use the window, and between either and an end built
// with gRPC's defaults (an already-built plugin, an older host).
func TestTransportWindows(t *testing.T) {
	val := make([]byte, 40<<20+12345)
	r := rand.NewChaCha8([32]byte{7})
	_, _ = r.Read(val)
	for name, c := range map[string]struct {
		server func([]grpc.ServerOption) *grpc.Server
		dial   []grpc.DialOption
	}{
		"both":       {pluginwire.NewServer, pluginwire.DialOptions()},
		"old plugin": {func(o []grpc.ServerOption) *grpc.Server { return grpc.NewServer(o...) }, pluginwire.DialOptions()},
		"old host":   {pluginwire.NewServer, nil},
	} {
		t.Run(name, func(t *testing.T) {
			s := serveFS(t, c.server, c.dial)
			ctx := context.Background()
			require.NoError(t, s.Put(ctx, "big", bytes.NewReader(val), store.PutOptions{}))
			for _, rg := range [][2]int64{{0, -1}, {pluginwire.ChunkSize - 1, 3 * pluginwire.ChunkSize}, {int64(len(val)) - 10, -1}} {
				rc, err := s.Get(ctx, "big", rg[0], rg[1])
				require.NoError(t, err)
				got, err := io.ReadAll(rc)
				rc.Close()
				require.NoError(t, err)
				want := val[rg[0]:]
				if rg[1] >= 0 {
					want = want[:rg[1]]
				}
				assert.True(t, bytes.Equal(want, got), "range %v: %d bytes, want %d", rg, len(got), len(want))
			}
		})
	}
}
