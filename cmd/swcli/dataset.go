package main

import (
	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/registry"
)

func datasetCommand(a *appState) *cli.Command {
	return artifactCommand(a, registry.KindDataset, "ds", "build, list, copy and extract datasets (a folder with a dataset.yaml)")
}
