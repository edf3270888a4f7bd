package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/artifact"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
)

func modelCommand(a *appState) *cli.Command {
	return artifactCommand(a, registry.KindModel, "mp", "build, list, copy and extract models (a folder with a model.yaml)")
}

// artifactCommand is the command of a stored artifact kind other than
// runtime (model, dataset): its own build, info and extract, and the
// version commands every kind shares.
func artifactCommand(a *appState, k registry.Kind, alias, help string) *cli.Command {
	return &cli.Command{
		Name:    string(k),
		Aliases: []string{alias},
		Usage:   help,
		Subcommands: []*cli.Command{
			artifactBuildCommand(a, k), listCommand(a, k), artifactInfoCommand(a, k), historyCommand(a, k),
			tagCommand(a, k), removeCommand(a, k), recoverCommand(a, k), gcCommand(a, k), copyCommand(a, k),
			artifactExtractCommand(a, k),
		},
	}
}

func artifactBuildCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     fmt.Sprintf("store a folder (its %s and every file %s does not exclude) as a new %s version", artifact.SpecFile(k), artifact.IgnoreFile, k),
		ArgsUsage: "DIR",
		Flags: []cli.Flag{
			projectFlag(),
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "add a tag (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give one DIR, got %d arguments", c.NArg())
			}
			dir := c.Args().First()
			if dir == "" {
				dir = "."
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return usage(c, "%s is not a folder; give the folder with the %s", dir, artifact.SpecFile(k))
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			l, err := svc.Instances().Local()
			if err != nil {
				return err
			}
			l = l.Of(k)
			res, err := artifact.Build(c.Context, l.Registry(), artifact.BuildOptions{Dir: dir, Project: c.String("project"),
				Tags: c.StringSlice("tag"), TempDir: l.TempDir(), CacheDir: artifact.CacheDir(l.Root())})
			if err != nil {
				return err
			}
			return a.render(res, func() {
				fmt.Printf("built %s %s version %s (%s), %d files (%s) in %d layers (%d reused)\n", k, res.Name, res.Version.Short,
					strings.Join(res.Version.Tags, ", "), res.Files, humanSize(res.Bytes), res.Layers, res.Reused)
				fmt.Println(l.URI(res.Version))
			})
		},
	}
}

func artifactInfoCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     fmt.Sprintf("show a stored %s version: its config and %s", k, artifact.SpecFile(k)),
		ArgsUsage: "URI|FILE" + kindText(k, ".swrt"),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one %s URI (NAME, NAME/version/VERSION ...)", k)
			}
			inst, r, err := a.openArtifact(c, k)
			if err != nil {
				return err
			}
			out := map[string]any{"kind": k, "name": r.Config.Name, "version": r.Version.Short, "digest": r.Version.Digest,
				"tags": r.Version.Tags, "handler": r.Config.Handler, "files": r.Config.Files, "bytes": r.Config.Bytes,
				"layers": len(r.Manifest.Layers), "size": r.Version.Size, "created": r.Version.Created,
				"uri": inst.URI(r.Version).String(), "spec": r.Config.Spec}
			return a.render(out, func() {
				keys := []string{"kind", "name", "version", "digest", "tags", "handler", "files", "bytes", "layers", "size", "created", "uri"}
				if r.Config.Handler == "" {
					keys = slices.DeleteFunc(keys, func(k string) bool { return k == "handler" })
				}
				printTable([]string{"FIELD", "VALUE"}, fieldRows(out, keys))
				fmt.Printf("\n%s:\n%s", artifact.SpecFile(k), r.Config.Spec)
			})
		},
	}
}

func artifactExtractCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "extract",
		Usage:     fmt.Sprintf("write a %s version's files into a new folder (read-only)", k),
		ArgsUsage: "URI|FILE" + kindText(k, ".swrt"),
		Flags:     []cli.Flag{&cli.StringFlag{Name: "target-dir", Usage: "folder to make (default: NAME-VERSION); it must not exist"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one %s URI or file", k)
			}
			inst, r, err := a.openArtifact(c, k)
			if err != nil {
				return err
			}
			dest := c.String("target-dir")
			if dest == "" {
				dest = r.Config.Name + "-" + r.Version.Short
			}
			if _, err := os.Lstat(dest); err == nil {
				return usage(c, "--target-dir %s exists; give a new folder", dest)
			}
			if err := artifact.Extract(c.Context, inst, r, dest); err != nil {
				return err
			}
			out := map[string]any{"name": r.Config.Name, "version": r.Version.Short, "dir": dest}
			return a.render(out, func() { fmt.Printf("extracted %s %s %s to %s\n", k, r.Config.Name, r.Version.Short, dest) })
		},
	}
}

// openArtifact opens the version of kind k the command's one argument
// names and reads it.
func (a *appState) openArtifact(c *cli.Context, k registry.Kind) (instance.Instance, *artifact.Read, error) {
	inst, u, err := a.openKind(c, k, c.Args().First())
	if err != nil {
		return nil, nil, err
	}
	r, err := artifact.Open(c.Context, inst, instance.RefOf(u), k)
	return inst, r, err
}
