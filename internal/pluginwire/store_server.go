package pluginwire

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// ChunkSize is the most data one gRPC message carries (gRPC's default limit is
// 4 MiB per message).
const ChunkSize = 1 << 20

// RegisterStore serves s on srv (Base and Store services). The Info
// declares what this package serves besides the Store contract: "raw-bytes"
// always, "compose" when s implements store.Composer, "url-get" when it
// implements URLGetter, "url-put" when it implements URLPutter.
func RegisterStore(srv *grpc.Server, s store.Store, info InfoFunc) { registerStore(srv, s, info) }

// registerStore is RegisterStore, returning the raw channel's server (to
// close it).
func registerStore(srv *grpc.Server, s store.Store, info InfoFunc) *rawServer {
	if info != nil {
		info = withStoreCapabilities(s, info)
	}
	raw := &rawServer{s: s}
	pb.RegisterBaseServer(srv, &baseServer{info: info})
	pb.RegisterStoreServer(srv, &storeServer{s: s, raw: raw})
	return raw
}

func withStoreCapabilities(s store.Store, info InfoFunc) InfoFunc {
	return func(ctx context.Context) (mode.Info, error) {
		i, err := info(ctx)
		_, compose := s.(store.Composer)
		_, urlGet := s.(URLGetter)
		_, urlPut := s.(URLPutter)
		i.Capabilities.Compose, i.Capabilities.URLGet, i.Capabilities.URLPut = compose, urlGet, urlPut
		i.Capabilities.RawBytes = true
		return i, err
	}
}

type storeServer struct {
	pb.UnimplementedStoreServer
	s   store.Store
	raw *rawServer
}

func storeStatus(err error) error {
	if err == nil {
		return nil
	}
	var nf *store.NotFoundError
	var pe *store.PreconditionError
	var ik *store.InvalidKeyError
	switch {
	case errors.As(err, &nf):
		return status.Error(codes.NotFound, nf.Key)
	case errors.As(err, &pe):
		return status.Error(codes.FailedPrecondition, pe.Key)
	case errors.As(err, &ik):
		return status.Error(codes.InvalidArgument, ik.Key+"\x00"+ik.Reason)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

type putReader struct {
	st   pb.Store_PutServer
	buf  []byte
	done bool
}

func (r *putReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		m, err := r.st.Recv()
		if err == io.EOF {
			r.done = true
			return 0, io.EOF
		}
		if err != nil {
			return 0, err
		}
		r.buf = m.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (s *storeServer) Put(st pb.Store_PutServer) error {
	first, err := st.Recv()
	if err != nil {
		return err
	}
	r := &putReader{st: st, buf: first.Data}
	err = putOf(st.Context(), s.s, first, r)
	if err != nil {
		return storeStatus(err)
	}
	return st.SendAndClose(&pb.Empty{})
}

// putOf is the store's Put of req's value, read from r: sized
// (store.PutSized) when the host sent the size.
func putOf(ctx context.Context, s store.Store, req *pb.PutRequest, r io.Reader) error {
	opts := store.PutOptions{IfNoneMatch: req.IfNoneMatch, IfMatch: req.IfMatch}
	if req.Size != nil {
		return store.PutSized(ctx, s, req.Key, r, req.GetSize(), opts)
	}
	return s.Put(ctx, req.Key, r, opts)
}

// getDepth is how many chunks of a Get the plugin reads ahead of what it
// has sent: reading the store (an S3 response) and sending to the host
// overlap instead of taking turns.
const getDepth = 4

// openGet opens the value a GetRequest asks for, with its Info when the
// request wants it (else nil).
func openGet(ctx context.Context, s store.Store, req *pb.GetRequest) (io.ReadCloser, *pb.StatResponse, error) {
	if !req.WantInfo {
		rc, err := s.Get(ctx, req.Key, req.Offset, req.Length)
		return rc, nil, err
	}
	rc, i, err := store.GetWithInfo(ctx, s, req.Key, req.Offset, req.Length)
	if err != nil {
		return nil, nil, err
	}
	return rc, statPB(i), nil
}

// pump reads rc in chunks of up to ChunkSize, getDepth chunks ahead of
// send, and calls send with each non-empty chunk in order; a chunk's buffer
// is refilled once send returns. It returns send's error, else rc's
// (nil at the end).
func pump(rc io.Reader, send func([]byte) error) error {
	type chunk struct {
		buf []byte
		n   int
		err error
	}
	full := make(chan chunk, getDepth)
	free := make(chan []byte, getDepth+1)
	for i := 0; i < getDepth+1; i++ {
		free <- make([]byte, ChunkSize)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	// Before the caller closes rc, the reader is stopped and gone (a
	// failed send means the host canceled the call, which ends a pending
	// read).
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(rc, buf)
			select {
			case full <- chunk{buf, n, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range full {
		if c.n > 0 {
			if err := send(c.buf[:c.n]); err != nil {
				return err
			}
		}
		free <- c.buf
		switch {
		case c.err == io.EOF || c.err == io.ErrUnexpectedEOF:
			return nil
		case c.err != nil:
			return c.err
		}
	}
	return nil
}

func (s *storeServer) Get(req *pb.GetRequest, st pb.Store_GetServer) error {
	rc, info, err := openGet(st.Context(), s.s, req)
	if err != nil {
		return storeStatus(err)
	}
	defer rc.Close()
	var sendErr error
	err = pump(rc, func(b []byte) error {
		// Send encodes the message before it returns, so the buffer can
		// be refilled. The Info, when asked for, rides on the first chunk.
		sendErr = st.Send(&pb.Chunk{Data: b, Info: info})
		info = nil
		return sendErr
	})
	switch {
	case sendErr != nil:
		return sendErr
	case err != nil:
		return storeStatus(err)
	case info != nil: // an empty value: the Info still comes
		return st.Send(&pb.Chunk{Info: info})
	}
	return nil
}

// Compose serves store.Composer for a store that has it (and declares
// "compose"); otherwise Unimplemented, as from an older plugin.
func (s *storeServer) Compose(ctx context.Context, req *pb.ComposeRequest) (*pb.Empty, error) {
	c, ok := s.s.(store.Composer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this store cannot compose")
	}
	return &pb.Empty{}, storeStatus(c.Compose(ctx, req.Dst, req.Srcs))
}

// OpenRawChannel opens (once) and gives the raw channel (raw.go).
func (s *storeServer) OpenRawChannel(context.Context, *pb.Empty) (*pb.RawChannel, error) {
	ch, err := s.raw.open()
	if err != nil {
		return nil, status.Error(codes.Unavailable, "raw channel: "+err.Error())
	}
	return ch, nil
}

func statPB(i store.Info) *pb.StatResponse {
	return &pb.StatResponse{Key: i.Key, Size: i.Size, ModTimeUnixNano: i.ModTime.UnixNano(), Etag: i.ETag}
}

func (s *storeServer) Stat(ctx context.Context, req *pb.KeyRequest) (*pb.StatResponse, error) {
	i, err := s.s.Stat(ctx, req.Key)
	if err != nil {
		return nil, storeStatus(err)
	}
	return statPB(i), nil
}

func (s *storeServer) List(req *pb.ListRequest, st pb.Store_ListServer) error {
	const batch = 1000
	var items []*pb.StatResponse
	err := s.s.List(st.Context(), req.Prefix, func(i store.Info) error {
		items = append(items, statPB(i))
		if len(items) == batch {
			err := st.Send(&pb.ListResponse{Items: items})
			items = nil
			return err
		}
		return nil
	})
	if err != nil {
		return storeStatus(err)
	}
	if len(items) > 0 {
		return st.Send(&pb.ListResponse{Items: items})
	}
	return nil
}

func (s *storeServer) Delete(ctx context.Context, req *pb.KeyRequest) (*pb.Empty, error) {
	return &pb.Empty{}, storeStatus(s.s.Delete(ctx, req.Key))
}
