package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/uri"
)

// instanceView is an instance as listed: never its token.
type instanceView struct {
	Alias   string `json:"alias"`
	URI     string `json:"uri"`
	User    string `json:"user_name,omitempty"`
	Type    string `json:"type"`
	Current bool   `json:"current"`
}

func instanceCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "instance",
		Usage: "log in to cloud instances (swcli server) and choose the default one",
		Subcommands: []*cli.Command{
			{
				Name:      "login",
				Usage:     "check credentials against a swcli server and save them under an alias (the config file is mode 0600)",
				ArgsUsage: "URL",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "alias", Usage: "name to use in URIs (ALIAS/project/P, cloud://ALIAS/...)", Required: true},
					&cli.StringFlag{Name: "token", Usage: "an API token (swcli user token create)"},
					&cli.StringFlag{Name: "username", Usage: "log in with a user name and password instead; a token is made and saved"},
					&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from stdin"},
				},
				Action: func(c *cli.Context) error { return instanceLogin(a, c) },
			},
			{
				Name: "logout", Usage: "forget an instance's credentials", ArgsUsage: "ALIAS",
				Action: func(c *cli.Context) error {
					cfg, alias, err := knownAlias(c)
					if err != nil {
						return err
					}
					delete(cfg.Instances, alias)
					if cfg.CurrentInstance == alias {
						cfg.CurrentInstance = instance.LocalName
					}
					if err := cfg.Save(); err != nil {
						return err
					}
					return a.render(map[string]string{"logged_out": alias}, func() { fmt.Printf("logged out of %s\n", alias) })
				},
			},
			{
				Name: "select", Usage: "make an instance the default for user and project commands", ArgsUsage: "ALIAS",
				Action: func(c *cli.Context) error {
					cfg, alias, err := knownAlias(c)
					if err != nil {
						return err
					}
					cfg.CurrentInstance = alias
					if err := cfg.Save(); err != nil {
						return err
					}
					return a.render(map[string]string{"current_instance": alias}, func() { fmt.Printf("selected instance %s\n", alias) })
				},
			},
			{
				Name: "list", Aliases: []string{"ls"}, Usage: "list the known instances",
				Action: func(c *cli.Context) error {
					cfg, err := instance.LoadConfig()
					if err != nil {
						return err
					}
					var out []instanceView
					for _, al := range cfg.Aliases() {
						out = append(out, viewOf(cfg, al))
					}
					return a.render(out, func() {
						var rows [][]string
						for _, v := range out {
							cur := ""
							if v.Current {
								cur = "*"
							}
							rows = append(rows, []string{cur, v.Alias, v.URI, v.User, v.Type})
						}
						printTable([]string{"", "ALIAS", "URI", "USER", "TYPE"}, rows)
					})
				},
			},
			{
				Name: "info", Usage: "show an instance (default: the selected one) and who you are there", ArgsUsage: "[ALIAS]",
				Action: func(c *cli.Context) error {
					cfg, err := instance.LoadConfig()
					if err != nil {
						return err
					}
					alias := c.Args().First()
					if alias == "" {
						alias = cfg.CurrentInstance
					}
					if _, ok := cfg.Instances[alias]; !ok {
						return &instance.UnknownAliasError{Alias: alias, Known: cfg.Aliases()}
					}
					v := viewOf(cfg, alias)
					if v.Type == "standalone" {
						return a.render(v, func() { fmt.Printf("%s: the local instance\n", alias) })
					}
					cl, err := apiClient(cfg, alias)
					if err != nil {
						return err
					}
					who, err := cl.Whoami(c.Context)
					if err != nil {
						return err
					}
					out := struct {
						instanceView
						Admin bool `json:"admin"`
					}{v, who.Admin}
					out.User = who.User
					return a.render(out, func() {
						fmt.Printf("%s: %s, signed in as %s (admin: %v)\n", alias, v.URI, who.User, who.Admin)
					})
				},
			},
		},
	}
}

func viewOf(cfg *instance.Config, alias string) instanceView {
	k := cfg.Instances[alias]
	return instanceView{Alias: alias, URI: k.URI, User: k.User, Type: k.Type, Current: cfg.CurrentInstance == alias}
}

// knownAlias reads the config and the one ALIAS argument, which it must know.
func knownAlias(c *cli.Context) (*instance.Config, string, error) {
	if c.NArg() != 1 {
		return nil, "", usage(c, "give one ALIAS (swcli instance list shows them)")
	}
	cfg, err := instance.LoadConfig()
	if err != nil {
		return nil, "", err
	}
	alias := c.Args().First()
	if _, ok := cfg.Instances[alias]; !ok {
		return nil, "", &instance.UnknownAliasError{Alias: alias, Known: cfg.Aliases()}
	}
	if alias == instance.LocalName {
		return cfg, alias, usage(c, "local is the standalone instance; nothing to log out of")
	}
	return cfg, alias, nil
}

// apiClient is the JSON API client of a logged-in alias.
func apiClient(cfg *instance.Config, alias string) (*remote.Client, error) {
	k, ok := cfg.Instances[alias]
	if !ok {
		return nil, &instance.UnknownAliasError{Alias: alias, Known: cfg.Aliases()}
	}
	if k.Type == "standalone" {
		return nil, fmt.Errorf("instance %s is the local instance; users and projects live on a cloud instance (swcli instance login URL --alias A)", alias)
	}
	return &remote.Client{Base: k.URI, Name: alias, Token: k.Token}, nil
}

// readPassword reads one line from stdin.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" {
		return "", errString("--password-stdin: stdin gave no password")
	}
	return p, nil
}

func instanceLogin(a *appState, c *cli.Context) error {
	if c.NArg() != 1 {
		return usage(c, "give one URL, e.g. swcli instance login http://127.0.0.1:8082 --alias dev --token T")
	}
	u, err := uri.Parse(strings.TrimRight(c.Args().First(), "/") + "/project/self")
	if err != nil || !(strings.HasPrefix(u.Instance, "http://") || strings.HasPrefix(u.Instance, "https://")) {
		return usage(c, "%q is not a server URL; allowed: http(s)://host[:port]", c.Args().First())
	}
	alias := c.String("alias")
	if _, err := uri.Parse(alias + "/project/self"); err != nil || alias == instance.LocalName || strings.Contains(alias, "://") {
		return usage(c, "--alias %q is not an alias; allowed: [A-Za-z0-9][A-Za-z0-9._-]{0,62}, not local", alias)
	}
	token, user := c.String("token"), c.String("username")
	switch {
	case (token == "") == (user == ""):
		return usage(c, "give --token T, or --username U with --password-stdin")
	case user != "" && !c.Bool("password-stdin"):
		return usage(c, "--username needs --password-stdin (the password is read from stdin)")
	}
	cl := &remote.Client{Base: u.Instance, Name: u.Instance, Token: token}
	if user != "" {
		pw, err := readPassword(os.Stdin)
		if err != nil {
			return err
		}
		cl.User, cl.Password = user, pw
	}
	who, err := cl.Whoami(c.Context)
	if err != nil {
		return err
	}
	if user != "" {
		// Save a token, never the password.
		t, err := cl.CreateToken(c.Context, "swcli login "+alias, "")
		if err != nil {
			return err
		}
		token = t.Secret
	}
	cfg, err := instance.LoadConfig()
	if err != nil {
		return err
	}
	cfg.Instances[alias] = instance.Known{URI: u.Instance, User: who.User, Token: token, Type: "cloud"}
	if err := cfg.Save(); err != nil {
		return err
	}
	return a.render(viewOf(cfg, alias), func() {
		fmt.Printf("logged in to %s as %s; alias %s (saved in %s)\n", u.Instance, who.User, alias, instance.ConfigPath())
	})
}
