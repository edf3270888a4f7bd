package sdktest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk"
	"github.com/swcli/swcli/sdk/sdktest"
	"github.com/swcli/swcli/sdk/storetest"
)

// TestStoreOverGRPC runs the store conformance suite against the filesystem
// store served through the real store plugin protocol (chunked gRPC
// streams, typed errors as status codes), as a store plugin is served.
func TestStoreOverGRPC(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		fs, err := store.NewFS(t.TempDir())
		require.NoError(t, err)
		return sdktest.StoreOverGRPC(t, fs, sdk.Info{Name: "fs", Kind: sdk.KindStore, Version: "test", ProtocolVersions: []int{mode.ProtocolVersion}})
	})
}
