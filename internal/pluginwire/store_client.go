package pluginwire

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// StoreClient is a store.Store that calls a plugin over gRPC.
type StoreClient struct {
	base BaseClient
	c    pb.StoreClient
	// noInfo: the plugin sent no Info when asked (built before Chunk.info)
	noInfo atomic.Bool
}

var (
	_ store.Store      = (*StoreClient)(nil)
	_ store.InfoGetter = (*StoreClient)(nil)
)

// NewStoreClient wraps a gRPC connection to a store plugin.
func NewStoreClient(conn grpc.ClientConnInterface) *StoreClient {
	return &StoreClient{base: BaseClient{pb.NewBaseClient(conn)}, c: pb.NewStoreClient(conn)}
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

// Put streams r to the plugin in chunks. If r fails, the stream is canceled
// and the plugin's Put aborts, leaving the old value.
func (c *StoreClient) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
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
				m.Key, m.IfNoneMatch, m.IfMatch = key, opts.IfNoneMatch, opts.IfMatch
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
	if !c.noInfo.Load() {
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

func (c *StoreClient) Delete(ctx context.Context, key string) error {
	_, err := c.c.Delete(ctx, &pb.KeyRequest{Key: key})
	return storeErr(err, key)
}
