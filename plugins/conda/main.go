// Command swcli-plugin-conda is the conda environment-mode plugin: it drives
// conda, mamba or micromamba through plugins/conda/condamode.
package main

import (
	"github.com/swcli/swcli/plugins/conda/condamode"
	"github.com/swcli/swcli/sdk"
)

var version = "0.1.0-dev"

func main() {
	sdk.ServeMode(condamode.New(condamode.Options{Version: version}))
}
