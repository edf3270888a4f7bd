// Command swcli-plugin-venv is the venv environment-mode plugin: it serves
// plugins/venv/venvmode over the swcli plugin protocol.
package main

import (
	"github.com/swcli/swcli/plugins/venv/venvmode"
	"github.com/swcli/swcli/sdk"
)

var version = "0.1.0-dev"

func main() {
	sdk.ServeMode(venvmode.New(venvmode.Options{Version: version, Logger: sdk.Logger("venv")}))
}
