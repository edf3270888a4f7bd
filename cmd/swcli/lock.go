package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/workflow"
)

// envSourceFlags are the -v/-c/-cp/-s flags of build and lock.
func envSourceFlags(verb string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "venv", Aliases: []string{"v"}, Usage: verb + " the existing venv at this prefix as it is (no WORKDIR, no runtime.yaml)"},
		&cli.StringFlag{Name: "conda", Aliases: []string{"c"}, Usage: verb + " the existing conda environment of this name as it is"},
		&cli.StringFlag{Name: "conda-prefix", Aliases: []string{"cp"}, Usage: verb + " the existing conda environment at this prefix as it is"},
		&cli.BoolFlag{Name: "shell", Aliases: []string{"s"}, Usage: verb + " the environment active in this shell (VIRTUAL_ENV or CONDA_PREFIX) as it is"},
	}
}

// envSource reads the flags of envSourceFlags.
func envSource(c *cli.Context) workflow.EnvSource {
	return workflow.EnvSource{Venv: c.String("venv"), Conda: c.String("conda"), CondaPrefix: c.String("conda-prefix"), Shell: c.Bool("shell")}
}

func lockCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "lock",
		Usage:     "lock an environment (a workdir's, or one that exists: -v/-c/-cp/-s) without building: write the lock files under .starwhale/lock",
		ArgsUsage: "[WORKDIR]",
		Flags: append(envSourceFlags("lock"),
			&cli.BoolFlag{Name: "stdout", Usage: "print the lock files instead of writing them"}),
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give at most one WORKDIR, got %d arguments", c.NArg())
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			from := envSource(c)
			wd := c.Args().First()
			if wd == "" && !from.Given() {
				wd = "."
			}
			res, err := svc.Lock(c.Context, workflow.LockOptions{Workdir: wd, From: from, Write: !c.Bool("stdout")})
			a.doneEvents()
			if err != nil {
				return err
			}
			return a.render(res, func() {
				if c.Bool("stdout") {
					for _, f := range res.Files {
						if len(res.Files) > 1 {
							fmt.Printf("# %s\n", f.Name)
						}
						_, _ = os.Stdout.Write(f.Content)
					}
					return
				}
				fmt.Printf("locked the %s environment at %s: Python %s, %d packages\n", res.Mode, res.Prefix, res.Python, res.Packages)
				for _, f := range res.Files {
					fmt.Printf("wrote %s/%s\n", res.Dir, f.Name)
				}
			})
		},
	}
}
