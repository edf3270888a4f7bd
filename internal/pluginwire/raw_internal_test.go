package pluginwire

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
	"github.com/swcli/swcli/sdk/storetest"
)

// countingServer is the current store server with its gRPC byte paths
// counted, to see which path the bytes took.
type countingServer struct {
	*storeServer
	gets, puts, composes atomic.Int64
}

func (c *countingServer) Get(req *pb.GetRequest, st pb.Store_GetServer) error {
	c.gets.Add(1)
	return c.storeServer.Get(req, st)
}

func (c *countingServer) Put(st pb.Store_PutServer) error {
	c.puts.Add(1)
	return c.storeServer.Put(st)
}

func (c *countingServer) Compose(ctx context.Context, req *pb.ComposeRequest) (*pb.Empty, error) {
	c.composes.Add(1)
	return c.storeServer.Compose(ctx, req)
}

// preRawServer is a store server as built before the raw channel and
// Compose: its Info declares neither and both calls are unknown to it.
type preRawServer struct{ *countingServer }

func (preRawServer) Compose(context.Context, *pb.ComposeRequest) (*pb.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "unknown method Compose")
}

func (preRawServer) OpenRawChannel(context.Context, *pb.Empty) (*pb.RawChannel, error) {
	return nil, status.Error(codes.Unimplemented, "unknown method OpenRawChannel")
}

var testInfo = mode.Info{Name: "fs", Kind: KindStore, Version: "test", ProtocolVersions: []int{1}}

// serveOn serves srv (with Info info) on a Unix socket as a plugin does,
// and dials it with newClient, as a host does.
func serveOn(t *testing.T, srv pb.StoreServer, info InfoFunc, newClient func(grpc.ClientConnInterface) *StoreClient) *StoreClient {
	t.Helper()
	// not t.TempDir: a subtest's "#01" would end the socket's URL
	dir, err := os.MkdirTemp("", "pluginwire-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "plugin.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	g := NewServer(nil)
	pb.RegisterBaseServer(g, &baseServer{info: info})
	pb.RegisterStoreServer(g, srv)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+sock, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, DialOptions()...)...)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return newClient(conn)
}

// current serves s as today's plugin does (raw channel, capabilities).
func current(t *testing.T, s store.Store, newClient func(grpc.ClientConnInterface) *StoreClient) (*StoreClient, *countingServer) {
	raw := &rawServer{s: s}
	t.Cleanup(raw.close)
	srv := &countingServer{storeServer: &storeServer{s: s, raw: raw}}
	info := withStoreCapabilities(s, func(context.Context) (mode.Info, error) { return testInfo, nil })
	return serveOn(t, srv, info, newClient), srv
}

func newFS(t *testing.T) store.Store {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	return fs
}

// The conformance suite passes through a current plugin, with every byte
// of Get and Put on the raw channel and Compose done in the plugin, and
// with a host that keeps to the gRPC streams.
func TestRawChannelConformance(t *testing.T) {
	var srvs []*countingServer
	storetest.Run(t, func(t *testing.T) store.Store {
		c, srv := current(t, newFS(t), NewStoreClient)
		srvs = append(srvs, srv)
		return c
	})
	var composes int64
	for _, s := range srvs {
		require.Zero(t, s.gets.Load()+s.puts.Load(), "a gRPC Get or Put was made although the raw channel was offered")
		composes += s.composes.Load()
	}
	require.NotZero(t, composes, "Compose ran in the plugin")

	var streamed int64
	storetest.Run(t, func(t *testing.T) store.Store {
		c, srv := current(t, newFS(t), NewStreamsOnlyClient)
		t.Cleanup(func() { streamed += srv.gets.Load() + srv.puts.Load() })
		return c
	})
	require.NotZero(t, streamed, "the streams-only host used the gRPC streams")
}

// A plugin built before the raw channel and Compose (neither declared, both
// unknown): the host streams everything through gRPC and composes through
// the host, and the suite passes.
func TestPluginWithoutRawChannel(t *testing.T) {
	var srvs []*countingServer
	storetest.Run(t, func(t *testing.T) store.Store {
		fs := newFS(t)
		srv := &countingServer{storeServer: &storeServer{s: fs, raw: &rawServer{s: fs}}}
		srvs = append(srvs, srv)
		info := func(context.Context) (mode.Info, error) { return testInfo, nil }
		return serveOn(t, preRawServer{srv}, info, NewStoreClient)
	})
	var streamed int64
	for _, s := range srvs {
		streamed += s.gets.Load() + s.puts.Load()
		require.Zero(t, s.composes.Load())
	}
	require.NotZero(t, streamed)
}

// refusingStore loses every Put's condition without reading the value.
type refusingStore struct{ store.Store }

func (refusingStore) Put(_ context.Context, key string, _ io.Reader, _ store.PutOptions) error {
	return &store.PreconditionError{Key: key}
}

// endless is a reader that never ends; it counts what was read.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) { e.n.Add(int64(len(p))); return len(p), nil }

// A plugin that ends a Put before reading the value (a lost condition)
// reaches the host as the typed error, and the host stops sending.
func TestRawPutEndedEarly(t *testing.T) {
	c, _ := current(t, refusingStore{newFS(t)}, NewStoreClient)
	r := &endless{}
	err := c.Put(context.Background(), "k", r, store.PutOptions{IfNoneMatch: true})
	var pe *store.PreconditionError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "k", pe.Key)
	require.NotNil(t, c.raw, "the raw channel was used")
}

// TestGetReadAhead: the plugin reads a Get ahead of what it sent, on the
// raw channel and on the gRPC stream; a store's read error still reaches
// the host after the bytes before it, and a host that stops reading early
// ends the plugin's call, which closes the store's stream.
func TestGetReadAhead(t *testing.T) {
	for name, newClient := range map[string]func(grpc.ClientConnInterface) *StoreClient{"raw": NewStoreClient, "streams": NewStreamsOnlyClient} {
		t.Run(name, func(t *testing.T) {
			fs := &failingStore{closed: make(chan struct{}, 1)}
			fs.n.Store(10*ChunkSize + 5)
			c, srv := current(t, fs, newClient)
			rc, err := c.Get(context.Background(), "k", 0, -1)
			require.NoError(t, err)
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			assert.Equal(t, name == "raw", c.raw != nil && srv.gets.Load() == 0, "the path taken")
			assert.Equal(t, fs.n.Load(), n, "every byte before the failure arrives")
			require.Error(t, err)
			assert.Contains(t, err.Error(), io.ErrClosedPipe.Error())
			<-fs.closed

			fs.n.Store(1 << 40) // endless
			rc, err = c.Get(context.Background(), "k", 0, -1)
			require.NoError(t, err)
			_, err = io.ReadFull(rc, make([]byte, 3*ChunkSize))
			require.NoError(t, err)
			rc.Close()
			select {
			case <-fs.closed:
			case <-time.After(time.Minute):
				t.Fatal("the plugin's Get went on after the host closed the call")
			}
		})
	}
}

// The socket is in a folder only the plugin's user can enter, a connection
// without the token gets nothing, and closing removes the folder.
func TestRawChannelPrivate(t *testing.T) {
	fs := newFS(t)
	require.NoError(t, fs.Put(context.Background(), "k", strings.NewReader("secret value"), store.PutOptions{}))
	raw := &rawServer{s: fs}
	ch, err := raw.open()
	require.NoError(t, err)
	st, err := os.Stat(filepath.Dir(ch.Address))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	for _, token := range [][]byte{nil, bytes.Repeat([]byte{1}, tokenSize)} {
		conn, err := net.Dial("unix", ch.Address)
		require.NoError(t, err)
		require.NoError(t, writeControl(conn, frameRequest, &pb.RawRequest{Token: token, Get: &pb.GetRequest{Key: "k", Length: -1}}))
		got, err := io.ReadAll(conn)
		conn.Close()
		require.NoError(t, err)
		assert.Empty(t, got, "a connection with a wrong token is closed unanswered")
	}
	good := &rawClient{network: ch.Network, address: ch.Address, token: ch.Token}
	ctx := context.Background()
	conn, stop, err := good.dial(ctx, &pb.RawRequest{Get: &pb.GetRequest{Key: "k", Length: -1}})
	require.NoError(t, err)
	rc, _, err := good.get(ctx, conn, stop, &pb.GetRequest{Key: "k", Length: -1})
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.Equal(t, "secret value", string(b))

	raw.close()
	_, err = os.Stat(filepath.Dir(ch.Address))
	assert.True(t, os.IsNotExist(err), "the folder is removed: %v", err)
}

// failingStore's Get gives n bytes of zeros and then fails; closed
// reports each Close of a Get stream.
type failingStore struct {
	store.Store
	n      atomic.Int64 // set by the test, read by the plugin's side
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
	return &failingReader{left: s.n.Load(), closed: s.closed}, nil
}
