package pluginwire

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin/base"
	"github.com/swcli/swcli/core/store"
)

// Plugin kinds, as written in plugins.yaml and returned by Info.
const (
	KindMode  = base.KindMode
	KindStore = base.KindStore
)

// Handshake is the go-plugin handshake every swcli plugin and host share. The
// cookie only guards against running a plugin binary by hand; it is not a
// security feature. Changing it breaks every already-built plugin.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  uint(base.ProtocolVersion),
	MagicCookieKey:   "SWCLI_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "5c0f1c3e-7a3b-4f43-9c59-3b1d6e2f8a11",
}

// ClientSets are the host's plugin sets per protocol version (go-plugin's
// VersionedPlugins). A host dispenses KindMode or KindStore from them.
func ClientSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		base.ProtocolVersion: {
			KindMode:  &ModePlugin{},
			KindStore: &StorePlugin{},
		},
	}
}

// ModePlugin is the go-plugin plugin of a mode. On the plugin side Impl is
// served, each call tracked by Tracker (may be nil); on the host side the
// dispensed value is a *ModeClient.
type ModePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl    mode.Mode
	Tracker *Tracker
}

func (p *ModePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	var track func(context.Context) (context.Context, func())
	if p.Tracker != nil {
		track = p.Tracker.Track
	}
	RegisterMode(s, p.Impl, track)
	return nil
}

func (p *ModePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewModeClient(c), nil
}

// StorePlugin is the go-plugin plugin of a store: Impl and its Info on the
// plugin side, a *StoreClient on the host side.
type StorePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl store.Store
	Info InfoFunc

	mu   sync.Mutex
	raws []*rawServer
}

func (p *StorePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	raw := registerStore(s, p.Impl, p.Info)
	p.mu.Lock()
	p.raws = append(p.raws, raw)
	p.mu.Unlock()
	return nil
}

// Close stops the raw channels this plugin serves and removes their
// sockets (a plugin process also does it for every store at exit, see
// CloseRawChannels).
func (p *StorePlugin) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.raws {
		r.close()
	}
	p.raws = nil
}

func (p *StorePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewStoreClient(c), nil
}

// Tracker cancels every running call when the plugin is asked to stop
// (SIGTERM, or the host process dying), so that a mode's child processes
// (pip, conda) are killed with it.
type Tracker struct {
	root   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewTracker makes a tracker with no running calls.
func NewTracker() *Tracker {
	t := &Tracker{}
	t.root, t.cancel = context.WithCancel(context.Background())
	return t
}

// Track derives the context of one call; call the returned func when the
// call ends.
func (t *Tracker) Track(ctx context.Context) (context.Context, func()) {
	t.wg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.root, cancel)
	return ctx, func() { stop(); cancel(); t.wg.Done() }
}

// StopOnExit ends the plugin process when SIGTERM arrives or its parent (the
// host) goes away: running calls are canceled and given a moment to kill
// their children, then the process exits.
func (t *Tracker) StopOnExit() {
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
			CloseRawChannels()
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
