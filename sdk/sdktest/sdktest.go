// Package sdktest serves a mode or a store in the test's own process over
// the real plugin protocol (gRPC on a Unix socket, go-plugin's test
// connection) and returns the client side, as the host sees it: a
// Nomad-style in-process harness for sdk/modetest and sdk/storetest that
// needs no plugin binary. It imports testing, so it belongs in tests only;
// a plugin's main package imports sdk, never this package.
package sdktest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/swcli/swcli/internal/pluginwire"
	"github.com/swcli/swcli/sdk"
)

// ModeOverGRPC serves m in this process and returns the host's client of
// it. Everything is closed when t ends.
func ModeOverGRPC(t testing.TB, m sdk.Mode) sdk.Mode {
	t.Helper()
	return dispense(t, sdk.KindMode, &pluginwire.ModePlugin{Impl: m, Tracker: pluginwire.NewTracker()}).(sdk.Mode)
}

// StoreOverGRPC serves s in this process and returns the host's client of
// it. Its Info is s's own if s implements sdk.StoreInfo, otherwise info.
func StoreOverGRPC(t testing.TB, s sdk.Store, info sdk.Info) sdk.Store {
	t.Helper()
	p := &pluginwire.StorePlugin{Impl: s, Info: sdk.StoreInfoFunc(s, info)}
	t.Cleanup(p.Close)
	return dispense(t, sdk.KindStore, p).(sdk.Store)
}

func dispense(t testing.TB, kind string, p plugin.Plugin) any {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{kind: p})
	// Stop the server first: the client's Close asks a running server to
	// shut itself down (go-plugin's controller), and that Stop would race
	// with this one.
	t.Cleanup(func() { server.Stop(); client.Close() })
	raw, err := client.Dispense(kind)
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return raw
}
