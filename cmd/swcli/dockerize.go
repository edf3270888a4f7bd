package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/dockerize"
)

func dockerizeCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "dockerize",
		Usage:     "build a container image that starts with the runtime restored and active (docker buildx, else podman)",
		ArgsUsage: "URI",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the Dockerfile (and write the context with --context); build nothing"},
			&cli.StringFlag{Name: "context", Usage: "write the build context (Dockerfile, bundle, swcli) into this folder and keep it"},
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "image name and tag, e.g. registry.local/mnist:v1 (repeatable; default NAME:VERSION)"},
			&cli.BoolFlag{Name: "push", Usage: "push every tag after the build"},
			&cli.StringFlag{Name: "platform", Usage: "OS/ARCH to build for (default: the runtime's, e.g. linux/amd64)"},
			&cli.StringFlag{Name: "base-image", Usage: "base image (default: environment.docker.image, else derived from starwhale_version, Python, CUDA, cuDNN under $" + dockerize.BaseImageRepoEnv + " or the config's image_repo)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one runtime URI, e.g. swcli runtime dockerize mnist/version/latest --dry-run")
			}
			d, err := a.dockerizer()
			if err != nil {
				return err
			}
			cfg, err := d.Service.Instances().Config()
			if err != nil {
				return err
			}
			res, err := d.Dockerize(c.Context, dockerize.Request{URI: c.Args().First(), DryRun: c.Bool("dry-run"),
				ContextDir: c.String("context"), Tags: c.StringSlice("tag"), Push: c.Bool("push"),
				Platform: c.String("platform"), BaseImage: c.String("base-image"),
				ImageRepo: dockerize.ImageRepoFrom(cfg), Log: a.buildLog()})
			a.doneEvents()
			if err != nil {
				return err
			}
			return a.render(res, func() {
				if c.Bool("dry-run") {
					fmt.Print(res.Dockerfile)
					if res.ContextDir != "" {
						fmt.Fprintf(os.Stderr, "build context in %s\n", res.ContextDir)
					}
					return
				}
				how := "built"
				if res.Pushed {
					how = "built and pushed"
				}
				fmt.Printf("%s %s for %s %s with %s (from %s)\n", how, strings.Join(res.Tags, ", "), res.Name, res.Version, res.Engine, res.BaseImage)
				if res.ContextDir != "" {
					fmt.Printf("build context in %s\n", res.ContextDir)
				}
			})
		},
	}
}

// dockerizer is the dockerize workflow of this swcli: its store and
// plugins, and its own binary to copy into images.
func (a *appState) dockerizer() (*dockerize.Dockerizer, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	host, err := a.plugins()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return &dockerize.Dockerizer{Service: svc, Plugins: host, Swcli: exe, Version: version}, nil
}

// buildLog is where an engine's build output goes: stderr with --verbose.
func (a *appState) buildLog() io.Writer {
	if a.verbose {
		return os.Stderr
	}
	return nil
}
