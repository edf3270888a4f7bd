// Command oddkind is a plugin for core/plugin's install tests. Run under a
// name containing "store" it serves a store plugin named "teststore";
// otherwise a plugin that says its kind is "widget". Only Info works; the
// store's Stat exits the process with status 3, as a store that crashes
// would.
package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk"
)

type widget struct{ mode.Mode }

func (widget) Info(context.Context) (mode.Info, error) {
	return mode.Info{Name: "widget", Kind: "widget", Version: "0.0.1-test", ProtocolVersions: []int{mode.ProtocolVersion}}, nil
}

type nostore struct{ store.Store }

func (nostore) Stat(context.Context, string) (store.Info, error) {
	os.Exit(3)
	return store.Info{}, nil
}

func main() {
	if strings.Contains(filepath.Base(os.Args[0]), "store") {
		sdk.ServeStore(nostore{}, sdk.Info{Name: "teststore", Kind: sdk.KindStore, Version: "0.0.1-test",
			ProtocolVersions: []int{mode.ProtocolVersion}})
	}
	sdk.ServeMode(widget{})
}
