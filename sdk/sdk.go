// Package sdk is what a plugin author imports to write a swcli plugin: an
// environment mode (like venv, conda, or your own poetry/uv/pixi mode) or a
// storage backend. Implement the plain Go interface mode.Mode (re-exported
// here as sdk.Mode) or store.Store and call ServeMode or ServeStore from main.
// gRPC and protobuf stay inside sdk/internal: a plugin author never sees them.
//
//	func main() { sdk.ServeMode(mymode.New()) }
//
// Conformance suites: sdk/modetest for modes, sdk/storetest for stores. Run
// them in your plugin's tests.
//
// The host side (core/plugin) uses Handshake and PluginSets from this package
// to launch and talk to plugins.
package sdk

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk/internal/wire"
)

// Plain types a plugin author works with: the interfaces to implement and
// the requests and results that cross the wire (defined in core/mode and
// core/store, where their contracts are written).
type (
	Mode  = mode.Mode
	Store = store.Store
	Info  = mode.Info

	Env               = mode.Env
	Python            = mode.Python
	PipConfig         = mode.PipConfig
	CondaConfig       = mode.CondaConfig
	Dependency        = mode.Dependency
	DoctorRequest     = mode.DoctorRequest
	DoctorReport      = mode.DoctorReport
	Tool              = mode.Tool
	CreateRequest     = mode.CreateRequest
	InstallRequest    = mode.InstallRequest
	LockRequest       = mode.LockRequest
	Lock              = mode.Lock
	LockedPackage     = mode.LockedPackage
	LockFile          = mode.LockFile
	RestoreRequest    = mode.RestoreRequest
	FilesRequest      = mode.FilesRequest
	FilesReport       = mode.FilesReport
	PackageFiles      = mode.PackageFiles
	RelocateRequest   = mode.RelocateRequest
	ActivationRequest = mode.ActivationRequest
	Activation        = mode.Activation
	EnvVar            = mode.EnvVar
	Event             = mode.Event
	Events            = mode.Events
	// Error is the typed error a mode returns; its Code is one of the
	// mode.Err* constants.
	Error = mode.Error

	PutOptions = store.PutOptions
	StoreEntry = store.Info
)

// Plugin kinds, as written in plugins.yaml and returned by Info.
const (
	KindMode  = "mode"
	KindStore = "store"
)

// Handshake is the go-plugin handshake every swcli plugin and host share. The
// cookie only guards against running a plugin binary by hand; it is not a
// security feature.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  uint(mode.ProtocolVersion),
	MagicCookieKey:   "SWCLI_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "5c0f1c3e-7a3b-4f43-9c59-3b1d6e2f8a11",
}

// PluginSets are the plugin sets per protocol version (go-plugin's
// VersionedPlugins). A host dispenses KindMode or KindStore from them.
func PluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		mode.ProtocolVersion: {
			KindMode:  &modePlugin{},
			KindStore: &storePlugin{},
		},
	}
}

// StoreInfo is the optional interface of a store that describes itself;
// ServeStore uses it for Info.
type StoreInfo interface {
	Info(ctx context.Context) (Info, error)
}

type modePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl mode.Mode
	t    *tracker
}

func (p *modePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	wire.RegisterMode(s, p.impl, p.t.track)
	return nil
}

func (p *modePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return wire.NewModeClient(c), nil
}

type storePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl store.Store
	info wire.InfoFunc
}

func (p *storePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	wire.RegisterStore(s, p.impl, p.info)
	return nil
}

func (p *storePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return wire.NewStoreClient(c), nil
}

// ConnectionError is returned by a dispensed client when the plugin process
// went away (crashed, exited, killed).
type ConnectionError = wire.ConnectionError

// tracker cancels every running call when the plugin is asked to stop
// (SIGTERM, or the host process dying), so that a mode's child processes
// (pip, conda) are killed with it.
type tracker struct {
	mu     sync.Mutex
	root   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newTracker() *tracker {
	t := &tracker{}
	t.root, t.cancel = context.WithCancel(context.Background())
	return t
}

func (t *tracker) track(ctx context.Context) (context.Context, func()) {
	t.wg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.root, cancel)
	return ctx, func() { stop(); cancel(); t.wg.Done() }
}

// stopOnExit ends the plugin when SIGTERM arrives or its parent (the host)
// goes away: running calls are canceled and given a moment to kill their
// children, then the process exits.
func (t *tracker) stopOnExit() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGHUP)
	parent := os.Getppid()
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ch:
			case <-tick.C:
				if os.Getppid() == parent {
					continue
				}
			}
			t.cancel()
			done := make(chan struct{})
			go func() { t.wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
			}
			os.Exit(1)
		}
	}()
}

func logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}

// ServeMode serves m as a mode plugin and does not return. Call it from main.
func ServeMode(m Mode) {
	t := newTracker()
	t.stopOnExit()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			mode.ProtocolVersion: {KindMode: &modePlugin{impl: m, t: t}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     logger(),
	})
}

// ServeStore serves s as a store plugin and does not return. If s implements
// StoreInfo, its Info is served; otherwise info is used.
func ServeStore(s Store, info Info) {
	t := newTracker()
	t.stopOnExit()
	infoFn := func(context.Context) (Info, error) { return info, nil }
	if si, ok := s.(StoreInfo); ok {
		infoFn = si.Info
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			mode.ProtocolVersion: {KindStore: &storePlugin{impl: s, info: infoFn}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     logger(),
	})
}

// Logger returns the logger a plugin should use: its lines reach the host's
// log (shown with swcli --verbose or SW_LOG_LEVEL).
func Logger(name string) hclog.Logger { return logger().Named(name) }
