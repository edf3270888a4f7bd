package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
)

func instanceFlag() cli.Flag {
	return &cli.StringFlag{Name: "instance", Usage: "cloud instance alias (default: the selected one, swcli instance select)"}
}

// cloudClient is the API client of --instance (or alias, when a URI named
// it), else the selected instance.
func cloudClient(c *cli.Context, alias string) (*remote.Client, error) {
	cfg, err := instance.LoadConfig()
	if err != nil {
		return nil, err
	}
	if alias == "" {
		alias = c.String("instance")
	}
	if alias == "" {
		alias = cfg.CurrentInstance
	}
	if strings.Contains(alias, "://") {
		if a := cfg.AliasOf(alias); a != "" {
			alias = a
		} else {
			return nil, fmt.Errorf("instance %s: not logged in (swcli instance login %s --alias A)", alias, alias)
		}
	}
	return apiClient(cfg, alias)
}

func userCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "user",
		Usage: "manage the users and your tokens of a cloud instance",
		Subcommands: []*cli.Command{
			{
				Name: "create", Usage: "create a user (admin); prints its first token once", ArgsUsage: "NAME",
				Flags: []cli.Flag{instanceFlag(), &cli.BoolFlag{Name: "password-stdin", Usage: "also give it a password, read from stdin"},
					&cli.BoolFlag{Name: "admin", Usage: "make the user an admin"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usage(c, "give one user NAME")
					}
					cl, err := cloudClient(c, "")
					if err != nil {
						return err
					}
					pw := ""
					if c.Bool("password-stdin") {
						if pw, err = readPassword(os.Stdin); err != nil {
							return err
						}
					}
					u, err := cl.CreateUser(c.Context, c.Args().First(), pw, c.Bool("admin"))
					if err != nil {
						return err
					}
					return a.render(map[string]string{"name": u.User.Name, "token": u.Token}, func() {
						fmt.Printf("created user %s; its token (shown once): %s\n", u.User.Name, u.Token)
					})
				},
			},
			{
				Name: "password", Usage: "set a user's password (admin, or yourself)", ArgsUsage: "NAME",
				Flags: []cli.Flag{instanceFlag(), &cli.BoolFlag{Name: "password-stdin", Usage: "read the password from stdin (required)"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 || !c.Bool("password-stdin") {
						return usage(c, "give one user NAME and --password-stdin")
					}
					cl, err := cloudClient(c, "")
					if err != nil {
						return err
					}
					pw, err := readPassword(os.Stdin)
					if err != nil {
						return err
					}
					if err := cl.SetPassword(c.Context, c.Args().First(), pw); err != nil {
						return err
					}
					return a.render(map[string]string{"name": c.Args().First()}, func() { fmt.Printf("set the password of %s\n", c.Args().First()) })
				},
			},
			{
				Name:  "token",
				Usage: "your API tokens",
				Subcommands: []*cli.Command{
					{
						Name: "create", Usage: "make a token (shown once)", ArgsUsage: "NAME",
						Flags: []cli.Flag{instanceFlag(), &cli.StringFlag{Name: "expires-in", Usage: "lifetime, e.g. 720h (default: no expiry)"}},
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return usage(c, "give one token NAME")
							}
							cl, err := cloudClient(c, "")
							if err != nil {
								return err
							}
							t, err := cl.CreateToken(c.Context, c.Args().First(), c.String("expires-in"))
							if err != nil {
								return err
							}
							return a.render(t, func() { fmt.Printf("token %s (id %s), shown once: %s\n", t.Name, t.ID, t.Secret) })
						},
					},
					{
						Name: "list", Aliases: []string{"ls"}, Usage: "list your tokens (never their secrets)",
						Flags: []cli.Flag{instanceFlag()},
						Action: func(c *cli.Context) error {
							cl, err := cloudClient(c, "")
							if err != nil {
								return err
							}
							ts, err := cl.ListTokens(c.Context)
							if err != nil {
								return err
							}
							return a.render(nonNil(ts), func() {
								var rows [][]string
								for _, t := range ts {
									exp := ""
									if !t.Expires.IsZero() {
										exp = t.Expires.Local().Format(time.DateTime)
									}
									rows = append(rows, []string{t.ID, t.Name, t.User, ago(t.Created), exp})
								}
								printTable([]string{"ID", "NAME", "USER", "CREATED", "EXPIRES"}, rows)
							})
						},
					},
					{
						Name: "revoke", Usage: "revoke a token by id", ArgsUsage: "ID",
						Flags: []cli.Flag{instanceFlag()},
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return usage(c, "give one token ID (swcli user token list)")
							}
							cl, err := cloudClient(c, "")
							if err != nil {
								return err
							}
							if err := cl.RevokeToken(c.Context, c.Args().First()); err != nil {
								return err
							}
							return a.render(map[string]string{"revoked": c.Args().First()}, func() { fmt.Printf("revoked token %s\n", c.Args().First()) })
						},
					},
				},
			},
		},
	}
}
