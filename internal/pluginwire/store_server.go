package pluginwire

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// ChunkSize is the most data one gRPC message carries (gRPC's default limit is
// 4 MiB per message).
const ChunkSize = 1 << 20

// RegisterStore serves s on srv (Base and Store services).
func RegisterStore(srv *grpc.Server, s store.Store, info InfoFunc) {
	pb.RegisterBaseServer(srv, &baseServer{info: info})
	pb.RegisterStoreServer(srv, &storeServer{s: s})
}

type storeServer struct {
	pb.UnimplementedStoreServer
	s store.Store
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
	err = s.s.Put(st.Context(), first.Key, r, store.PutOptions{IfNoneMatch: first.IfNoneMatch, IfMatch: first.IfMatch})
	if err != nil {
		return storeStatus(err)
	}
	return st.SendAndClose(&pb.Empty{})
}

// getDepth is how many chunks of a Get the plugin reads ahead of what it
// has sent: reading the store (an S3 response) and sending to the host
// overlap instead of taking turns.
const getDepth = 4

func (s *storeServer) Get(req *pb.GetRequest, st pb.Store_GetServer) error {
	var (
		rc   io.ReadCloser
		info *pb.StatResponse // sent on the first chunk, then nil
		err  error
	)
	if req.WantInfo {
		var i store.Info
		rc, i, err = store.GetWithInfo(st.Context(), s.s, req.Key, req.Offset, req.Length)
		info = statPB(i)
	} else {
		rc, err = s.s.Get(st.Context(), req.Key, req.Offset, req.Length)
	}
	if err != nil {
		return storeStatus(err)
	}
	defer rc.Close()
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
	// Before rc is closed, the reader is stopped and gone (a failed Send
	// means the host canceled the call, which ends a pending read).
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
		if c.n > 0 || info != nil {
			// Send encodes the message before it returns (as the code
			// before the read-ahead relied on too), so the buffer can be
			// refilled.
			if serr := st.Send(&pb.Chunk{Data: c.buf[:c.n], Info: info}); serr != nil {
				return serr
			}
			info = nil
		}
		free <- c.buf
		switch {
		case c.err == io.EOF || c.err == io.ErrUnexpectedEOF:
			return nil
		case c.err != nil:
			return storeStatus(c.err)
		}
	}
	return nil
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
