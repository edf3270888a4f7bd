package pluginwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// ModeClient is a mode.Mode that calls a plugin over gRPC.
type ModeClient struct {
	base BaseClient
	c    pb.ModeClient
}

var _ mode.Mode = (*ModeClient)(nil)

// NewModeClient wraps a gRPC connection to a mode plugin.
func NewModeClient(conn grpc.ClientConnInterface) *ModeClient {
	return &ModeClient{base: BaseClient{pb.NewBaseClient(conn)}, c: pb.NewModeClient(conn)}
}

// ConnectionError says the plugin process could not be reached: it crashed,
// exited or was killed. The host adds the plugin's name.
type ConnectionError struct{ Err error }

func (e *ConnectionError) Error() string { return "plugin connection lost: " + e.Err.Error() }
func (e *ConnectionError) Unwrap() error { return e.Err }

func wrapRPC(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable:
			return &ConnectionError{Err: errors.New(st.Message())}
		case codes.Canceled:
			return context.Canceled
		case codes.DeadlineExceeded:
			return context.DeadlineExceeded
		}
		return fmt.Errorf("plugin: %s", st.Message())
	}
	return err
}

func fromPBError(e *pb.PluginError) error {
	if e.Code == "canceled" {
		return context.Canceled
	}
	return &mode.Error{Code: e.Code, Message: e.Message, Detail: e.Detail}
}

func payload(v any) (*pb.Payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &pb.Payload{Json: b}, nil
}

func unary(ctx context.Context, req any, out any, call func(context.Context, *pb.Payload, ...grpc.CallOption) (*pb.Result, error)) error {
	p, err := payload(req)
	if err != nil {
		return err
	}
	r, err := call(ctx, p)
	if err != nil {
		return wrapRPC(err)
	}
	if r.Error != nil {
		return fromPBError(r.Error)
	}
	if r.Result == nil {
		return &mode.Error{Code: mode.ErrInternal, Message: "plugin sent no result"}
	}
	return json.Unmarshal(r.Result.Json, out)
}

type eventRecv interface {
	Recv() (*pb.ModeEvent, error)
}

func streamed[S eventRecv](ctx context.Context, req any, out any, ev mode.Events,
	call func(context.Context, *pb.Payload, ...grpc.CallOption) (S, error)) error {
	p, err := payload(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := call(ctx, p)
	if err != nil {
		return wrapRPC(err)
	}
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return &mode.Error{Code: mode.ErrInternal, Message: "plugin ended the call without a result"}
		}
		if err != nil {
			return wrapRPC(err)
		}
		switch e := m.Event.(type) {
		case *pb.ModeEvent_Log:
			ev.Emit(mode.Event{Level: e.Log.Level, Message: e.Log.Message})
		case *pb.ModeEvent_Progress:
			ev.Emit(mode.Event{Stage: e.Progress.Stage, Current: e.Progress.Current,
				Total: e.Progress.Total, Message: e.Progress.Message})
		case *pb.ModeEvent_Error:
			return fromPBError(e.Error)
		case *pb.ModeEvent_Result:
			if out == nil {
				return nil
			}
			return json.Unmarshal(e.Result.Json, out)
		}
	}
}

func (c *ModeClient) Info(ctx context.Context) (mode.Info, error) { return c.base.Info(ctx) }

func (c *ModeClient) Doctor(ctx context.Context, req mode.DoctorRequest) (mode.DoctorReport, error) {
	var out mode.DoctorReport
	err := unary(ctx, req, &out, c.c.Doctor)
	return out, err
}

func (c *ModeClient) Files(ctx context.Context, req mode.FilesRequest) (mode.FilesReport, error) {
	var out mode.FilesReport
	err := unary(ctx, req, &out, c.c.Files)
	return out, err
}

func (c *ModeClient) Activation(ctx context.Context, req mode.ActivationRequest) (mode.Activation, error) {
	var out mode.Activation
	err := unary(ctx, req, &out, c.c.Activation)
	return out, err
}

func (c *ModeClient) Create(ctx context.Context, req mode.CreateRequest, ev mode.Events) error {
	return streamed(ctx, req, nil, ev, c.c.Create)
}

func (c *ModeClient) Install(ctx context.Context, req mode.InstallRequest, ev mode.Events) error {
	return streamed(ctx, req, nil, ev, c.c.Install)
}

func (c *ModeClient) Lock(ctx context.Context, req mode.LockRequest, ev mode.Events) (mode.Lock, error) {
	var out mode.Lock
	err := streamed(ctx, req, &out, ev, c.c.Lock)
	return out, err
}

func (c *ModeClient) Restore(ctx context.Context, req mode.RestoreRequest, ev mode.Events) error {
	return streamed(ctx, req, nil, ev, c.c.Restore)
}

func (c *ModeClient) Relocate(ctx context.Context, req mode.RelocateRequest, ev mode.Events) error {
	return streamed(ctx, req, nil, ev, c.c.Relocate)
}
