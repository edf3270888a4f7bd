package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/server/console"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/storeurl"
)

// adminTokenEnv, when set on first start, is the first admin's token.
const adminTokenEnv = "SW_SERVER_ADMIN_TOKEN"

func serverCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "run a cloud instance",
		Subcommands: []*cli.Command{{
			Name:      "start",
			Usage:     "serve the OCI API at /v2/, the JSON API at /api/v1/ and the web console at / over --store or the store in --data (until SIGTERM or Ctrl-C)",
			ArgsUsage: " ",
			Flags: append(storeFlags("folder of admin.token, and of the store (DIR/store) unless --store is given"),
				&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8082", Usage: "address to listen on (HOST:PORT; port 0 picks a free one)"},
				&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate (PEM); with --tls-key serves HTTPS"},
				&cli.StringFlag{Name: "tls-key", Usage: "TLS private key (PEM)"},
				&cli.BoolFlag{Name: "blob-redirect", Value: true, Usage: "answer a blob GET with 307 to a short-lived presigned URL of the store's service (S3) when the store gives one, so the bytes skip the server; --blob-redirect=false serves them through the server, for clients that cannot reach the bucket's endpoint"},
				&cli.DurationFlag{Name: "auth-cache-ttl", Value: auth.DefaultCacheTTL, Usage: "trust what a token or project resolved to for this long (0 turns it off); a revoke or role change made on another server sharing the store takes effect here within it"},
			),
			Action: func(c *cli.Context) error {
				if err := checkStoreArgs(c); err != nil {
					return err
				}
				return startServer(c, a)
			},
		}, {
			Name:      "gc",
			Usage:     "free blobs no version uses in a server's store (safe while servers on the same store push)",
			ArgsUsage: " ",
			Flags: append(storeFlags("folder of the server's filesystem store (DIR/store), unless --store is given"),
				&cli.DurationFlag{Name: "grace", Value: registry.DefaultGracePeriod, Usage: "keep unreferenced blobs younger than this (a push may be writing them)"},
				&cli.DurationFlag{Name: "lease-ttl", Usage: "keep blobs a push found stored (HEAD, mount) for this long (default: --grace)"},
				&cli.BoolFlag{Name: "dry-run", Usage: "only say what would be freed"},
			),
			Action: func(c *cli.Context) error {
				if err := checkStoreArgs(c); err != nil {
					return err
				}
				st, err := openServerStore(c, a, c.String("data"), c.String("store"))
				if err != nil {
					return err
				}
				opts := []registry.GCOption{registry.GracePeriod(c.Duration("grace"))}
				if c.IsSet("lease-ttl") {
					opts = append(opts, registry.LeaseTTL(c.Duration("lease-ttl")))
				}
				if c.Bool("dry-run") {
					opts = append(opts, registry.DryRun())
				}
				stats, err := registry.New(st).GC(c.Context, opts...)
				if err != nil {
					return err
				}
				if a.json() {
					return printJSON(stats)
				}
				fmt.Printf("freed %d blobs (%s), kept %d\n", stats.BlobsFreed, humanSize(stats.BytesFreed), stats.BlobsKept)
				return nil
			},
		}},
	}
}

// storeFlags are --data and --store, which name a server's store.
func storeFlags(dataUsage string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data", Usage: dataUsage},
		&cli.StringFlag{Name: "store", EnvVars: []string{"SW_SERVER_STORE"}, Usage: "store URL: file:///PATH, s3://BUCKET/PREFIX?endpoint=URL&region=R, or SCHEME://... of a store plugin (credentials from the environment, never in the URL)"},
	}
}

// checkStoreArgs refuses arguments and a command with neither --data nor
// --store.
func checkStoreArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usage(c, "takes no arguments, got %q", c.Args().First())
	}
	if c.String("data") == "" && c.String("store") == "" {
		return usage(c, "needs --data DIR (a filesystem store in DIR/store) or --store URL")
	}
	return nil
}

func startServer(c *cli.Context, a *appState) error {
	dir := c.String("data")
	st, err := openServerStore(c, a, dir, c.String("store"))
	if err != nil {
		return err
	}
	ttl := c.Duration("auth-cache-ttl")
	if ttl < 0 {
		return usage(c, "--auth-cache-ttl %s: must be 0 (off) or more", ttl)
	}
	acc, err := auth.New(st, auth.WithCacheTTL(ttl))
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
		ProxyBlobs: !c.Bool("blob-redirect"),
	})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(c.Context, c.String("listen"),
		server.TLSFiles{Cert: c.String("tls-cert"), Key: c.String("tls-key")})
}

// openServerStore opens the server's store: the store URL when given
// (core/storeurl: file://, s3:// or a store plugin's scheme), else a
// filesystem store in DIR/store.
func openServerStore(c *cli.Context, a *appState, dir, rawURL string) (store.Store, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	if rawURL == "" {
		rawURL = (&url.URL{Scheme: storeurl.FileScheme, Path: filepath.Join(absDir(dir), "store")}).String()
	}
	h, err := a.plugins()
	if err != nil {
		return nil, err
	}
	return (&storeurl.Opener{Host: h}).Open(c.Context, rawURL)
}

func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
