package pluginwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// RegisterMode serves m on s (Base and Mode services).
func RegisterMode(s *grpc.Server, m mode.Mode, track func(context.Context) (context.Context, func())) {
	pb.RegisterBaseServer(s, &baseServer{info: m.Info})
	pb.RegisterModeServer(s, &modeServer{m: m, track: track})
}

type modeServer struct {
	pb.UnimplementedModeServer
	m     mode.Mode
	track func(context.Context) (context.Context, func())
}

func (s *modeServer) ctx(ctx context.Context) (context.Context, func()) {
	if s.track == nil {
		return ctx, func() {}
	}
	return s.track(ctx)
}

func toPBError(err error) *pb.PluginError {
	var me *mode.Error
	if errors.As(err, &me) {
		return &pb.PluginError{Code: me.Code, Message: me.Message, Detail: me.Detail}
	}
	if errors.Is(err, context.Canceled) {
		return &pb.PluginError{Code: "canceled", Message: "canceled"}
	}
	return &pb.PluginError{Code: mode.ErrInternal, Message: err.Error()}
}

func result(v any, err error) (*pb.Result, error) {
	if err != nil {
		return &pb.Result{Error: toPBError(err)}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &pb.Result{Result: &pb.Payload{Json: b}}, nil
}

func decode(p *pb.Payload, v any) error {
	if p == nil || len(p.Json) == 0 {
		return mode.Errorf(mode.ErrInvalid, "empty request")
	}
	if err := json.Unmarshal(p.Json, v); err != nil {
		return mode.Errorf(mode.ErrInvalid, "bad request: %v", err)
	}
	return nil
}

func (s *modeServer) Doctor(ctx context.Context, p *pb.Payload) (*pb.Result, error) {
	var req mode.DoctorRequest
	if err := decode(p, &req); err != nil {
		return result(nil, err)
	}
	ctx, done := s.ctx(ctx)
	defer done()
	return result(s.m.Doctor(ctx, req))
}

func (s *modeServer) Files(ctx context.Context, p *pb.Payload) (*pb.Result, error) {
	var req mode.FilesRequest
	if err := decode(p, &req); err != nil {
		return result(nil, err)
	}
	ctx, done := s.ctx(ctx)
	defer done()
	return result(s.m.Files(ctx, req))
}

func (s *modeServer) Activation(ctx context.Context, p *pb.Payload) (*pb.Result, error) {
	var req mode.ActivationRequest
	if err := decode(p, &req); err != nil {
		return result(nil, err)
	}
	ctx, done := s.ctx(ctx)
	defer done()
	return result(s.m.Activation(ctx, req))
}

type eventStream interface {
	Send(*pb.ModeEvent) error
	Context() context.Context
}

// stream runs call with an Events that forwards to st, then sends the result
// or the error as the last message.
func (s *modeServer) stream(st eventStream, call func(ctx context.Context, ev mode.Events) (any, error)) error {
	var mu sync.Mutex
	var sendErr error
	send := func(e *pb.ModeEvent) {
		mu.Lock()
		defer mu.Unlock()
		if sendErr == nil {
			sendErr = st.Send(e)
		}
	}
	ev := func(e mode.Event) {
		if e.Level != "" {
			send(&pb.ModeEvent{Event: &pb.ModeEvent_Log{Log: &pb.LogEvent{Level: e.Level, Message: e.Message}}})
			return
		}
		send(&pb.ModeEvent{Event: &pb.ModeEvent_Progress{Progress: &pb.ProgressEvent{
			Stage: e.Stage, Current: e.Current, Total: e.Total, Message: e.Message}}})
	}
	ctx, done := s.ctx(st.Context())
	defer done()
	v, err := call(ctx, ev)
	if err != nil {
		send(&pb.ModeEvent{Event: &pb.ModeEvent_Error{Error: toPBError(err)}})
	} else {
		b, jerr := json.Marshal(v)
		if jerr != nil {
			return fmt.Errorf("encode result: %w", jerr)
		}
		send(&pb.ModeEvent{Event: &pb.ModeEvent_Result{Result: &pb.Payload{Json: b}}})
	}
	mu.Lock()
	defer mu.Unlock()
	return sendErr
}

func (s *modeServer) Create(p *pb.Payload, st pb.Mode_CreateServer) error {
	var req mode.CreateRequest
	derr := decode(p, &req)
	return s.stream(st, func(ctx context.Context, ev mode.Events) (any, error) {
		if derr != nil {
			return nil, derr
		}
		return struct{}{}, s.m.Create(ctx, req, ev)
	})
}

func (s *modeServer) Install(p *pb.Payload, st pb.Mode_InstallServer) error {
	var req mode.InstallRequest
	derr := decode(p, &req)
	return s.stream(st, func(ctx context.Context, ev mode.Events) (any, error) {
		if derr != nil {
			return nil, derr
		}
		return struct{}{}, s.m.Install(ctx, req, ev)
	})
}

func (s *modeServer) Lock(p *pb.Payload, st pb.Mode_LockServer) error {
	var req mode.LockRequest
	derr := decode(p, &req)
	return s.stream(st, func(ctx context.Context, ev mode.Events) (any, error) {
		if derr != nil {
			return nil, derr
		}
		return s.m.Lock(ctx, req, ev)
	})
}

func (s *modeServer) Restore(p *pb.Payload, st pb.Mode_RestoreServer) error {
	var req mode.RestoreRequest
	derr := decode(p, &req)
	return s.stream(st, func(ctx context.Context, ev mode.Events) (any, error) {
		if derr != nil {
			return nil, derr
		}
		return struct{}{}, s.m.Restore(ctx, req, ev)
	})
}

func (s *modeServer) Relocate(p *pb.Payload, st pb.Mode_RelocateServer) error {
	var req mode.RelocateRequest
	derr := decode(p, &req)
	return s.stream(st, func(ctx context.Context, ev mode.Events) (any, error) {
		if derr != nil {
			return nil, derr
		}
		return struct{}{}, s.m.Relocate(ctx, req, ev)
	})
}
