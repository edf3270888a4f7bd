package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/storeurl"
)

type pluginRow struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Version  string   `json:"version"`
	Path     string   `json:"path"`
	SHA256   string   `json:"sha256"`
	Status   string   `json:"status"`
	Source   string   `json:"source"`
	Caps     []string `json:"capabilities,omitempty"`
	Protocol []int    `json:"protocol_versions,omitempty"`
	// ConfigSchema is the JSON schema of the plugin's own configuration.
	ConfigSchema string `json:"config_schema,omitempty"`
	Error        string `json:"error,omitempty"`
}

func pluginCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "plugin",
		Usage: "list, inspect, install and remove plugins (environment modes and stores)",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the plugins from every plugins.yaml, starting each to ask its version",
				Action: func(c *cli.Context) error {
					h, err := a.plugins()
					if err != nil {
						return err
					}
					var rows []pluginRow
					for _, e := range h.Catalog.Entries() {
						rows = append(rows, describe(c, h, e))
						h.Close()
					}
					return a.render(nonNil(rows), func() {
						var t [][]string
						for _, r := range rows {
							t = append(t, []string{r.Name, r.Kind, r.Version, r.Status, r.Path})
						}
						printTable([]string{"NAME", "KIND", "VERSION", "STATUS", "PATH"}, t)
					})
				},
			},
			{
				Name:      "info",
				Usage:     "start a plugin and show what it says about itself",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("swcli plugin info: give one plugin NAME", 2)
					}
					h, err := a.plugins()
					if err != nil {
						return err
					}
					e, err := h.Catalog.Lookup(c.Args().First(), "")
					if err != nil {
						return err
					}
					r := describe(c, h, e)
					if r.Error != "" && !a.json() {
						return errString(r.Error)
					}
					return a.render(r, func() {
						rows := [][]string{
							{"name", r.Name}, {"kind", r.Kind}, {"version", r.Version},
							{"status", r.Status}, {"path", r.Path}, {"sha256", r.SHA256},
							{"source", r.Source}, {"capabilities", join(r.Caps)},
							{"protocol", joinInts(r.Protocol)},
						}
						if d, ok := storeurl.ParseDecl(r.ConfigSchema); ok {
							rows = append(rows, []string{"store URL", d.Form})
							for _, k := range d.Keys() {
								rows = append(rows, []string{"  ?" + k, d.Query[k]})
							}
						}
						printTable([]string{"FIELD", "VALUE"}, rows)
					})
				},
			},
			{
				Name:      "install",
				Usage:     "add a plugin binary to your plugins.yaml (it is started once to ask what it is)",
				ArgsUsage: "PATH",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "install under this name instead of the one the plugin gives"},
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "allow the name of a built-in plugin (yours then replaces it)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usage(c, "give one plugin binary PATH")
					}
					o := plugin.InstallOptions{Path: c.Args().First(), Name: c.String("name"), Force: c.Bool("force")}
					if a.verbose {
						// A binary that is not a plugin makes go-plugin warn as
						// it is killed; the error says it all without --verbose.
						o.Logger = a.log()
					}
					res, err := plugin.Install(c.Context, o)
					if err != nil {
						return err
					}
					return a.render(res, func() {
						verb := "installed"
						if res.Replaced {
							verb = "replaced"
						}
						fmt.Printf("%s %s plugin %s %s (%s) in %s\n", verb, res.Kind, res.Name, res.Version, res.Path, res.File)
					})
				},
			},
			{
				Name:      "remove",
				Usage:     "remove a plugin you installed from your plugins.yaml (the binary stays)",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usage(c, "give one plugin NAME")
					}
					res, err := plugin.Remove(c.Args().First(), "")
					if err != nil {
						return err
					}
					return a.render(res, func() {
						fmt.Printf("removed %s plugin %s from %s\n", res.Kind, res.Name, res.File)
					})
				},
			},
		},
	}
}

func describe(c *cli.Context, h *plugin.Host, e plugin.Entry) pluginRow {
	r := pluginRow{Name: e.Name, Kind: e.Kind, Path: e.Path, SHA256: e.SHA256, Source: e.Source}
	info, _, err := h.Info(c.Context, e.Name)
	if err != nil {
		r.Status, r.Error = "error", err.Error()
		return r
	}
	r.Status, r.Version, r.Caps, r.Protocol = "ok", info.Version, info.Capabilities.Names(), info.ProtocolVersions
	r.ConfigSchema = info.ConfigSchema
	return r
}
