package sdk

import (
	"context"
	"testing"

	"github.com/hashicorp/go-plugin"
)

// ModeOverGRPC serves m in this process over the real plugin protocol (gRPC
// on a Unix socket) and returns the client side, as the host sees it. Use it
// to run sdk/modetest against a mode without building its binary (Nomad-style
// in-process harness). Everything is closed when t ends.
func ModeOverGRPC(t testing.TB, m Mode) Mode {
	t.Helper()
	tr := newTracker()
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		KindMode: &modePlugin{impl: m, t: tr},
	})
	// Stop the server first: the client's Close asks a running server to
	// shut itself down (go-plugin's controller), and that Stop would race
	// with this one.
	t.Cleanup(func() { server.Stop(); client.Close() })
	raw, err := client.Dispense(KindMode)
	if err != nil {
		t.Fatalf("dispense mode: %v", err)
	}
	return raw.(Mode)
}

// StoreOverGRPC serves s in this process over the real plugin protocol and
// returns the client side, for sdk/storetest.
func StoreOverGRPC(t testing.TB, s Store, info Info) Store {
	t.Helper()
	infoFn := func(context.Context) (Info, error) { return info, nil }
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		KindStore: &storePlugin{impl: s, info: infoFn},
	})
	// Stop the server first: the client's Close asks a running server to
	// shut itself down (go-plugin's controller), and that Stop would race
	// with this one.
	t.Cleanup(func() { server.Stop(); client.Close() })
	raw, err := client.Dispense(KindStore)
	if err != nil {
		t.Fatalf("dispense store: %v", err)
	}
	return raw.(Store)
}
