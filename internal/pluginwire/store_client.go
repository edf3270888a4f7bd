package pluginwire

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin/base"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// StoreClient is a store.Store that calls a plugin over gRPC, and moves the
// bytes of Get and Put over the plugin's raw channel (raw.go) when the
// plugin declares one. It composes in the plugin when the plugin declares
// "compose".
type StoreClient struct {
	base BaseClient
	c    pb.StoreClient
	// noInfo: the plugin sent no Info when asked (built before Chunk.info)
	noInfo atomic.Bool
	// streamsOnly: never use the raw channel
	streamsOnly bool

	capsOnce sync.Once
	caps     base.Capabilities
	raw      *rawClient // nil: none offered, or it could not be opened
}

var (
	_ store.Store       = (*StoreClient)(nil)
	_ store.InfoGetter  = (*StoreClient)(nil)
	_ store.Composer    = (*StoreClient)(nil)
	_ store.SizedPutter = (*StoreClient)(nil)
)

// NewStoreClient wraps a gRPC connection to a store plugin.
func NewStoreClient(conn grpc.ClientConnInterface) *StoreClient {
	return &StoreClient{base: BaseClient{pb.NewBaseClient(conn)}, c: pb.NewStoreClient(conn)}
}

// NewStreamsOnlyClient is NewStoreClient that sends every byte through the
// gRPC streams, as a host built before the raw channel does (for tests of
// that path).
func NewStreamsOnlyClient(conn grpc.ClientConnInterface) *StoreClient {
	c := NewStoreClient(conn)
	c.streamsOnly = true
	return c
}

// capsTimeout bounds the Info and OpenRawChannel calls made on first use.
const capsTimeout = 30 * time.Second

// setup learns, once, what the plugin declares and opens its raw channel.
// Any failure leaves the gRPC paths, which every plugin serves.
func (c *StoreClient) setup(ctx context.Context) {
	c.capsOnce.Do(func() {
		// not the first caller's deadline or cancellation: the answer is
		// kept for every later call
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), capsTimeout)
		defer cancel()
		info, err := c.base.Info(ctx)
		if err != nil {
			return
		}
		c.caps = info.Capabilities
		if !c.caps.RawBytes || c.streamsOnly {
			return
		}
		if ch, err := c.c.OpenRawChannel(ctx, &pb.Empty{}); err == nil {
			c.raw = &rawClient{network: ch.Network, address: ch.Address, token: ch.Token}
		}
	})
}

// Info asks the plugin for its Info.
func (c *StoreClient) Info(ctx context.Context) (mode.Info, error) { return c.base.Info(ctx) }

func storeErr(err error, key string) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.NotFound:
		return &store.NotFoundError{Key: key}
	case codes.FailedPrecondition:
		return &store.PreconditionError{Key: key}
	case codes.InvalidArgument:
		reason := st.Message()
		if i := strings.IndexByte(reason, 0); i >= 0 {
			reason = reason[i+1:]
		}
		return &store.InvalidKeyError{Key: key, Reason: reason}
	}
	return wrapRPC(err)
}

// Put streams r to the plugin in chunks, on the raw channel when there is
// one. If r fails, the call is canceled and the plugin's Put aborts,
// leaving the old value.
func (c *StoreClient) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
	return c.put(ctx, key, r, nil, opts)
}

// PutSized implements store.SizedPutter: Put with the size on the first
// message, so the plugin can stream the value to its service as it
// arrives. A plugin built before the field ignores it and Puts as for an
// unknown size; either way the bytes are checked against the size here
// too, so a wrong-sized value fails the same way with every plugin.
//
// For a plugin that declares "url-put" the bytes go from here straight
// to the service (urlput.go), unless the plugin says it wants them
// itself.
func (c *StoreClient) PutSized(ctx context.Context, key string, r io.Reader, size int64, opts store.PutOptions) error {
	r = store.ExactReader(r, size)
	if c.setup(ctx); c.caps.URLPut && !c.streamsOnly && size > 0 {
		if handled, err := c.urlPut(ctx, key, r, size, opts); handled {
			return err
		}
	}
	return c.put(ctx, key, r, &size, opts)
}

func (c *StoreClient) put(ctx context.Context, key string, r io.Reader, size *int64, opts store.PutOptions) error {
	if c.setup(ctx); c.raw != nil {
		conn, stop, err := c.raw.dial(ctx, &pb.RawRequest{Put: &pb.PutRequest{Key: key, IfNoneMatch: opts.IfNoneMatch, IfMatch: opts.IfMatch, Size: size}})
		if err == nil {
			return c.raw.put(ctx, conn, stop, key, r)
		}
		// nothing of r was read: the gRPC stream can still carry it
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.c.Put(ctx)
	if err != nil {
		return storeErr(err, key)
	}
	buf := make([]byte, ChunkSize)
	first := true
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 || first {
			// Send encodes the message before it returns, so buf is
			// free to be refilled (no copy per chunk).
			m := &pb.PutRequest{Data: buf[:n]}
			if first {
				m.Key, m.IfNoneMatch, m.IfMatch, m.Size = key, opts.IfNoneMatch, opts.IfMatch, size
				first = false
			}
			if err := st.Send(m); err != nil {
				if err == io.EOF { // the server ended the call: get its status
					_, err = st.CloseAndRecv()
				}
				return storeErr(err, key)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			cancel()
			return rerr
		}
	}
	_, err = st.CloseAndRecv()
	return storeErr(err, key)
}

type chunkReader struct {
	st     pb.Store_GetClient
	key    string
	buf    []byte
	cancel context.CancelFunc
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		m, err := r.st.Recv()
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, storeErr(err, r.key)
		}
		r.buf = m.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *chunkReader) Close() error { r.cancel(); return nil }

// Get opens a stream; a missing key is reported by Get itself, not by the
// first Read.
func (c *StoreClient) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, _, err := c.get(ctx, &pb.GetRequest{Key: key, Offset: offset, Length: length})
	return rc, err
}

// GetWithInfo implements store.InfoGetter in one call: the plugin sends the
// Info on the first chunk. A plugin built before that field existed sends
// none; then this falls back to Stat then Get (store.GetWithInfo without
// the capability), and remembers to go straight there next time.
func (c *StoreClient) GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, store.Info, error) {
	if c.setup(ctx); c.raw != nil || c.caps.URLGet || !c.noInfo.Load() {
		rc, info, err := c.get(ctx, &pb.GetRequest{Key: key, Offset: offset, Length: length, WantInfo: true})
		if err != nil || info != nil {
			if err != nil {
				return nil, store.Info{}, err
			}
			return rc, infoFromStat(info), nil
		}
		rc.Close()
		c.noInfo.Store(true)
	}
	// an interface value holding c hides its GetWithInfo: Stat then Get
	return store.GetWithInfo(ctx, struct{ store.Store }{c}, key, offset, length)
}

func (c *StoreClient) get(ctx context.Context, req *pb.GetRequest) (io.ReadCloser, *pb.StatResponse, error) {
	key := req.Key
	if c.setup(ctx); c.caps.URLGet && req.Length != 0 && !c.streamsOnly {
		if rc, info, ok, err := c.urlGet(ctx, req); ok {
			return rc, info, err
		}
	}
	if c.raw != nil {
		if conn, stop, err := c.raw.dial(ctx, &pb.RawRequest{Get: req}); err == nil {
			return c.raw.get(ctx, conn, stop, req)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	st, err := c.c.Get(ctx, req)
	if err != nil {
		cancel()
		return nil, nil, storeErr(err, key)
	}
	// Read the first message so that errors surface here.
	m, err := st.Recv()
	if err != nil && err != io.EOF {
		cancel()
		return nil, nil, storeErr(err, key)
	}
	if errors.Is(err, io.EOF) {
		return &eofReader{cancel}, nil, nil
	}
	return &chunkReader{st: st, key: key, cancel: cancel, buf: m.Data}, m.Info, nil
}

type eofReader struct{ cancel context.CancelFunc }

func (e *eofReader) Read([]byte) (int, error) { return 0, io.EOF }
func (e *eofReader) Close() error             { e.cancel(); return nil }

func infoFromStat(s *pb.StatResponse) store.Info {
	return store.Info{Key: s.Key, Size: s.Size, ModTime: time.Unix(0, s.ModTimeUnixNano).UTC(), ETag: s.Etag}
}

func (c *StoreClient) Stat(ctx context.Context, key string) (store.Info, error) {
	s, err := c.c.Stat(ctx, &pb.KeyRequest{Key: key})
	if err != nil {
		return store.Info{}, storeErr(err, key)
	}
	return infoFromStat(s), nil
}

func (c *StoreClient) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.c.List(ctx, &pb.ListRequest{Prefix: prefix})
	if err != nil {
		return storeErr(err, prefix)
	}
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return storeErr(err, prefix)
		}
		for _, it := range m.Items {
			if err := fn(infoFromStat(it)); err != nil {
				return err
			}
		}
	}
}

// Compose implements store.Composer: in the plugin when it declares
// "compose", else by streaming every src through the host (store.ComposeOf
// without the capability).
func (c *StoreClient) Compose(ctx context.Context, dst string, srcs []string) error {
	if c.setup(ctx); c.caps.Compose {
		_, err := c.c.Compose(ctx, &pb.ComposeRequest{Dst: dst, Srcs: srcs})
		// a missing src is named by the plugin (storeStatus)
		if st, ok := status.FromError(err); ok && st.Code() == codes.NotFound && slices.Contains(srcs, st.Message()) {
			return &store.NotFoundError{Key: st.Message()}
		}
		return storeErr(err, dst)
	}
	// an interface value holding c hides its Compose
	return store.ComposeOf(ctx, struct{ store.Store }{c}, dst, srcs)
}

func (c *StoreClient) Delete(ctx context.Context, key string) error {
	_, err := c.c.Delete(ctx, &pb.KeyRequest{Key: key})
	return storeErr(err, key)
}
