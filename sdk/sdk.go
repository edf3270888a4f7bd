// Package sdk is what a plugin author imports to write a swcli plugin: an
// environment mode (like venv, conda, or your own poetry/uv/pixi mode) or a
// storage backend. Implement the plain Go interface mode.Mode (re-exported
// here as sdk.Mode) or store.Store and call ServeMode or ServeStore from main.
// gRPC, protobuf and go-plugin stay inside internal/pluginwire: a plugin
// author never sees them, and this package exports only plain Go types and
// the Serve helpers.
//
//	func main() { sdk.ServeMode(mymode.New()) }
//
// Conformance suites: sdk/modetest for modes, sdk/storetest for stores, and
// sdk/sdktest to serve a mode or store in-process over the real protocol.
// Run them in your plugin's tests. Helpers every Python mode needs are in
// sdk/pyenv.
package sdk

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire"
)

// Plain types a plugin author works with: the interfaces to implement and
// the requests and results that cross the wire (defined in core/mode and
// core/store, where their contracts are written).
type (
	Mode  = mode.Mode
	Store = store.Store
	Info  = mode.Info
	// Capabilities are what a plugin declares in Info.
	Capabilities = mode.Capabilities

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
	// URLGetter is what a store implements to let the host fetch a Get's
	// bytes from a short-lived URL itself (declared as "url-get"); its
	// contract is in internal/pluginwire.
	URLGetter = pluginwire.URLGetter
	// URLPutter is what a store implements to let the host send a sized
	// Put's bytes to presigned URLs itself (declared as "url-put"); its
	// contract is in internal/pluginwire.
	URLPutter = pluginwire.URLPutter
	// URLPart is a part of a URLPutter upload as the host sent it.
	URLPart = pluginwire.URLPart
	// URLPutPlan is how the host sends a URLPutter's bytes.
	URLPutPlan = pluginwire.URLPutPlan
)

// Plugin kinds, as written in plugins.yaml and returned by Info.
const (
	KindMode  = pluginwire.KindMode
	KindStore = pluginwire.KindStore
)

// StoreInfo is the optional interface of a store that describes itself;
// ServeStore uses it for Info.
type StoreInfo interface {
	Info(ctx context.Context) (Info, error)
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
	t := pluginwire.NewTracker()
	t.StopOnExit()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginwire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			mode.ProtocolVersion: {KindMode: &pluginwire.ModePlugin{Impl: m, Tracker: t}},
		},
		GRPCServer: pluginwire.NewServer,
		Logger:     logger(),
	})
}

// ServeStore serves s as a store plugin and does not return. If s implements
// StoreInfo, its Info is served; otherwise info is used. Besides what info
// declares, the plugin declares and serves a raw channel for the bytes of
// Get and Put, "compose" when s implements store.Composer, "url-get"
// when it implements URLGetter and "url-put" when it implements URLPutter.
func ServeStore(s Store, info Info) {
	t := pluginwire.NewTracker()
	t.StopOnExit()
	defer pluginwire.CloseRawChannels()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginwire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			mode.ProtocolVersion: {KindStore: &pluginwire.StorePlugin{Impl: s, Info: StoreInfoFunc(s, info)}},
		},
		GRPCServer: pluginwire.NewServer,
		Logger:     logger(),
	})
}

// StoreInfoFunc is how a served store describes itself: its own Info if it
// implements StoreInfo, otherwise info.
func StoreInfoFunc(s Store, info Info) func(context.Context) (Info, error) {
	if si, ok := s.(StoreInfo); ok {
		return si.Info
	}
	return func(context.Context) (Info, error) { return info, nil }
}

// Logger returns the logger a plugin should use: its lines reach the host's
// log (shown with swcli --verbose or SW_LOG_LEVEL).
func Logger(name string) hclog.Logger { return logger().Named(name) }
