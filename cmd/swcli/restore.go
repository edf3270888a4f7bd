package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/workflow"
	"github.com/swcli/swcli/internal/linkfile"
)

func restoreCommands(a *appState) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "restore",
			Usage:     "make a ready environment from a stored version or a .swrt file (offline when the bundle has what it needs)",
			ArgsUsage: "URI|FILE.swrt",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "target-dir", Usage: "restore into this folder (default: the cache under the storage root)"},
				&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "replace what is in the target folder"},
				&cli.BoolFlag{Name: "from-lock", Usage: "install the lock instead of unpacking the environment layers"},
				&cli.StringFlag{Name: "link-mode", Usage: "how files come out of the unpacked-layer cache: clone, hardlink or copy (default: $SW_LINK_MODE, else clone where the filesystem can, else hardlink, else copy)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usage(c, "give one runtime URI or .swrt file")
				}
				svc, err := a.service()
				if err != nil {
					return err
				}
				if c.IsSet("link-mode") {
					if svc.LinkMode, err = linkfile.Parse(c.String("link-mode")); err != nil {
						return usage(c, "--link-mode: %v", err)
					}
				}
				res, err := svc.Restore(c.Context, workflow.RestoreOptions{Source: c.Args().First(),
					TargetDir: c.String("target-dir"), Force: c.Bool("force"), FromLock: c.Bool("from-lock")})
				a.doneEvents()
				if err != nil {
					return err
				}
				return a.render(res, func() {
					how := map[string]string{"layers": "unpacked and relocated", "lock": "installed from its lock", "cached": "already restored"}[res.Path]
					fmt.Printf("restored %s %s (%s) in %s\n", res.Name, res.Version, how, res.Workdir)
					fmt.Printf("run in it with: swcli runtime run %s -- python\n", rsShellWord(res.Workdir))
				})
			},
		},
		{
			Name:      "extract",
			Usage:     "write a version's snapshot (runtime.yaml, requirement files, lock, wheels, files) as plain files",
			ArgsUsage: "URI|FILE.swrt",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "target-dir", Usage: "folder to write (default: NAME-VERSION)"},
				&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "replace a non-empty target folder"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usage(c, "give one runtime URI or .swrt file")
				}
				svc, err := a.service()
				if err != nil {
					return err
				}
				res, err := svc.Extract(c.Context, c.Args().First(), c.String("target-dir"), c.Bool("force"))
				if err != nil {
					return err
				}
				return a.render(res, func() { fmt.Printf("extracted %s %s to %s\n", res.Name, res.Version, res.Workdir) })
			},
		},
	}
}

// rsShellWord quotes a path for a command line a user copies, when needed.
func rsShellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+:@%=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
