package pluginwire

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
	"github.com/swcli/swcli/sdk/storetest"
)

// oldServer is the store server of a plugin built before Chunk.info: it
// never sees want_info (an unknown field to it) and sends no Info.
type oldServer struct {
	*storeServer
	gets, stats atomic.Int64
}

func (o *oldServer) Get(req *pb.GetRequest, st pb.Store_GetServer) error {
	o.gets.Add(1)
	old := &pb.GetRequest{Key: req.Key, Offset: req.Offset, Length: req.Length}
	return o.storeServer.Get(old, st)
}

func (o *oldServer) Stat(ctx context.Context, req *pb.KeyRequest) (*pb.StatResponse, error) {
	o.stats.Add(1)
	return o.storeServer.Stat(ctx, req)
}

func dial(t *testing.T, srv pb.StoreServer) *StoreClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	pb.RegisterStoreServer(g, srv)
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(); g.Stop() })
	return NewStoreClient(conn)
}

// A host asking an old plugin for the Info falls back to Stat then Get,
// correctly, and after the first miss goes there straight.
func TestGetWithInfoFromOldPlugin(t *testing.T) {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	old := &oldServer{storeServer: &storeServer{s: fs}}
	c := dial(t, old)
	storetest.GetWithInfo(t, c)
	require.True(t, c.noInfo.Load(), "the client learned the plugin sends no Info")

	ctx := context.Background()
	g0, s0 := old.gets.Load(), old.stats.Load()
	rc, info, err := c.GetWithInfo(ctx, "rec/a.json", 0, -1)
	require.NoError(t, err)
	_, _ = io.ReadAll(rc)
	rc.Close()
	require.NotEmpty(t, info.ETag)
	require.Equal(t, int64(1), old.gets.Load()-g0, "one Get")
	require.Equal(t, int64(1), old.stats.Load()-s0, "one Stat, no wasted Get")
}

// A current plugin answers with one Get and no Stat, even for a store
// without the capability (the plugin stats it itself, in the same call),
// and even for an empty value.
func TestGetWithInfoOneCall(t *testing.T) {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	for name, s := range map[string]store.Store{"infogetter": fs, "plain": struct{ store.Store }{fs}} {
		t.Run(name, func(t *testing.T) {
			srv := &oldServer{storeServer: &storeServer{s: s}}
			cur := &currentServer{srv}
			c := dial(t, cur)
			storetest.GetWithInfo(t, c)
			require.False(t, c.noInfo.Load())
			g0, s0 := srv.gets.Load(), srv.stats.Load()
			for _, k := range []string{"rec/a.json", "rec/empty"} {
				rc, info, err := c.GetWithInfo(context.Background(), k, 0, -1)
				require.NoError(t, err)
				rc.Close()
				require.NotEmpty(t, info.ETag)
			}
			require.Equal(t, int64(2), srv.gets.Load()-g0, "one Get each")
			require.Equal(t, s0, srv.stats.Load(), "no Stat call crossed the wire")
		})
	}
}

// currentServer counts like oldServer but passes want_info on.
type currentServer struct{ *oldServer }

func (c *currentServer) Get(req *pb.GetRequest, st pb.Store_GetServer) error {
	c.gets.Add(1)
	return c.storeServer.Get(req, st)
}
