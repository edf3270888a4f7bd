package pluginwire

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin/base"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// InfoFunc gives a plugin's Info.
type InfoFunc func(ctx context.Context) (mode.Info, error)

type baseServer struct {
	pb.UnimplementedBaseServer
	info InfoFunc
}

func (s *baseServer) Info(ctx context.Context, _ *pb.Empty) (*pb.InfoResponse, error) {
	if s.info == nil {
		return nil, status.Error(codes.Unimplemented, "no Info")
	}
	i, err := s.info(ctx)
	if err != nil {
		return nil, err
	}
	pv := make([]int32, len(i.ProtocolVersions))
	for k, v := range i.ProtocolVersions {
		pv[k] = int32(v)
	}
	return &pb.InfoResponse{Name: i.Name, Kind: i.Kind, Version: i.Version,
		ProtocolVersions: pv, Capabilities: i.Capabilities.Names(), ConfigSchema: i.ConfigSchema}, nil
}

func infoFromPB(r *pb.InfoResponse) mode.Info {
	pv := make([]int, len(r.ProtocolVersions))
	for k, v := range r.ProtocolVersions {
		pv[k] = int(v)
	}
	return mode.Info{Name: r.Name, Kind: r.Kind, Version: r.Version, ProtocolVersions: pv,
		Capabilities: base.ParseCapabilities(r.Capabilities), ConfigSchema: r.ConfigSchema}
}

// BaseClient asks any plugin for its Info.
type BaseClient struct{ c pb.BaseClient }

// Info calls the plugin's Info.
func (b BaseClient) Info(ctx context.Context) (mode.Info, error) {
	r, err := b.c.Info(ctx, &pb.Empty{})
	if err != nil {
		return mode.Info{}, wrapRPC(err)
	}
	return infoFromPB(r), nil
}
