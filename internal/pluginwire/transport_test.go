package pluginwire_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"
	"time"

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

// serveStore serves s as a plugin does, to a host's client.
func serveStore(t *testing.T, s store.Store) store.Store {
	t.Helper()
	return serveWith(t, s, pluginwire.NewServer, pluginwire.DialOptions())
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

// failingStore's Get streams n bytes of zeros and then fails; closed
// reports each Close of a Get stream.
type failingStore struct {
	store.Store
	n      int64
	closed chan struct{}
}

type failingReader struct {
	left   int64
	closed chan struct{}
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.ErrClosedPipe
	}
	n := min(int64(len(p)), r.left)
	clear(p[:n])
	r.left -= n
	return int(n), nil
}

func (r *failingReader) Close() error { r.closed <- struct{}{}; return nil }

func (s *failingStore) Get(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return &failingReader{left: s.n, closed: s.closed}, nil
}

// TestGetReadAhead: the plugin reads a Get ahead of what it sent; a
// store's read error still reaches the host after the bytes before it,
// and a host that stops reading early ends the plugin's call, which closes
// the store's stream.
func TestGetReadAhead(t *testing.T) {
	fs := &failingStore{n: 10*pluginwire.ChunkSize + 5, closed: make(chan struct{}, 1)}
	s := serveStore(t, fs)
	rc, err := s.Get(context.Background(), "k", 0, -1)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	assert.Equal(t, fs.n, n, "every byte before the failure arrives")
	require.Error(t, err)
	assert.Contains(t, err.Error(), io.ErrClosedPipe.Error())
	<-fs.closed

	fs.n = 1 << 40 // endless
	rc, err = s.Get(context.Background(), "k", 0, -1)
	require.NoError(t, err)
	_, err = io.ReadFull(rc, make([]byte, 3*pluginwire.ChunkSize))
	require.NoError(t, err)
	rc.Close()
	select { // the plugin's call ended and closed the store's stream
	case <-fs.closed:
	case <-time.After(time.Minute):
		t.Fatal("the plugin's Get went on after the host closed the stream")
	}
}
