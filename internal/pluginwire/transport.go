package pluginwire

import "google.golang.org/grpc"

// window is the HTTP/2 flow-control window of every plugin connection and
// stream, on both ends. gRPC's default (64 KiB, grown by its bandwidth
// estimator) stalls a stream of 1 MiB chunks over a local socket every few
// chunks; a fixed window of 16 MiB lets a store's Get and Put stream without
// waiting (about 1.5x the throughput of the default through the plugin,
// measured here). The window is a receiver's setting, so it changes nothing
// on the wire an already-built plugin or host must understand: each end
// simply grants more.
const window = 16 << 20

// DialOptions are the gRPC options of the host's connection to a plugin
// (core/plugin passes them to go-plugin).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window)}
}

// NewServer is the gRPC server of a plugin (the sdk's Serve functions give
// it to go-plugin): go-plugin's options plus the window.
func NewServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.InitialWindowSize(window), grpc.InitialConnWindowSize(window))...)
}
