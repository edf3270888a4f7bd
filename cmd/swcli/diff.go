package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
)

func diffCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two runtime versions: packages, python/mode/platform, runtime.yaml and layers",
		ArgsUsage: "URI_A URI_B",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usage(c, "give two runtime URIs (NAME, NAME/version/VERSION, FILE.swrt ...), got %d", c.NArg())
			}
			ia, ua, err := a.openRuntime(c, c.Args().Get(0))
			if err != nil {
				return err
			}
			ib, ub, err := a.openRuntime(c, c.Args().Get(1))
			if err != nil {
				return err
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			d, err := svc.Diff(c.Context, ia, instance.RefOf(ua), ib, instance.RefOf(ub))
			if err != nil {
				return err
			}
			return a.render(d, func() {
				fmt.Printf("--- %s %s\n+++ %s %s\n", d.A.Name, d.A.Version, d.B.Name, d.B.Version)
				for _, f := range d.Fields {
					fmt.Printf("%s: %s -> %s\n", f.Field, f.A, f.B)
				}
				fmt.Printf("packages: %d added, %d removed, %d changed, %d same\n", len(d.Added), len(d.Removed), len(d.Changed), d.Same)
				for _, p := range d.Added {
					fmt.Printf("+ %s\n", pkgWords(p))
				}
				for _, p := range d.Removed {
					fmt.Printf("- %s\n", pkgWords(p))
				}
				for _, ch := range d.Changed {
					fmt.Printf("~ %s: %s -> %s\n", ch.Name, strings.TrimPrefix(pkgWords(ch.A), ch.A.Name+" "), strings.TrimPrefix(pkgWords(ch.B), ch.B.Name+" "))
				}
				l := d.Layers
				fmt.Printf("layers: %d shared (%s), %d only in A (%s), %d only in B (%s)\n", l.Shared, humanSize(l.SharedBytes),
					l.OnlyA, humanSize(l.OnlyABytes), l.OnlyB, humanSize(l.OnlyBBytes))
				if d.SpecDiff == "" {
					fmt.Println("runtime.yaml: same")
				} else {
					fmt.Print(d.SpecDiff)
				}
			})
		},
	}
}

// pkgWords is "name version [installer] [source] [editable]" for a diff line.
func pkgWords(p mode.LockedPackage) string {
	w := []string{p.Name, p.Version}
	if p.Installer != "" {
		w = append(w, "("+p.Installer+")")
	}
	if p.Source != "" {
		w = append(w, "from "+p.Source)
	}
	if p.Editable {
		w = append(w, "editable")
	}
	return strings.Join(w, " ")
}
