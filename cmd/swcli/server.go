package main

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/server/console"
	"github.com/swcli/swcli/core/store"
)

// adminTokenEnv, when set on first start, is the first admin's token.
const adminTokenEnv = "SW_SERVER_ADMIN_TOKEN"

func serverCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "run a cloud instance",
		Subcommands: []*cli.Command{{
			Name:      "start",
			Usage:     "serve the OCI API at /v2/, the JSON API at /api/v1/ and the web console at / over the store in --data (until SIGTERM or Ctrl-C)",
			ArgsUsage: " ",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8082", Usage: "address to listen on (HOST:PORT; port 0 picks a free one)"},
				&cli.StringFlag{Name: "data", Required: true, Usage: "folder of the server's store and admin.token"},
				&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate (PEM); with --tls-key serves HTTPS"},
				&cli.StringFlag{Name: "tls-key", Usage: "TLS private key (PEM)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usage(c, "takes no arguments, got %q", c.Args().First())
				}
				return startServer(c, a)
			},
		}},
	}
}

func startServer(c *cli.Context, a *appState) error {
	dir := c.String("data")
	st, err := openServerStore(dir)
	if err != nil {
		return err
	}
	acc, err := auth.New(st)
	if err != nil {
		return err
	}
	level := hclog.Info
	if v := os.Getenv("SW_LOG_LEVEL"); v != "" {
		level = hclog.LevelFromString(v)
	}
	if a.verbose {
		level = hclog.Debug
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "swcli-server", Level: level, Output: os.Stderr})
	reg := registry.New(st)
	con, err := console.New(console.Config{Accounts: acc, Registry: reg, Log: log.Named("console")})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Accounts:   acc,
		Registry:   reg,
		Console:    con,
		Log:        log,
		DataDir:    dir,
		AdminToken: os.Getenv(adminTokenEnv),
	})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(c.Context, c.String("listen"),
		server.TLSFiles{Cert: c.String("tls-cert"), Key: c.String("tls-key")})
}

// openServerStore opens the server's store: a filesystem store in
// DIR/store (a later --store URL picks another here).
func openServerStore(dir string) (store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return store.NewFS(filepath.Join(dir, "store"))
}
