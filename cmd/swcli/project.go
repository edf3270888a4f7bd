package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/uri"
)

// projectArg reads a project URI ([ALIAS/]project/P or cloud://ALIAS/project/P)
// and gives the client of its instance and the project name.
func projectArg(c *cli.Context, arg string) (*remote.Client, string, error) {
	u, err := uri.Parse(arg)
	if err != nil {
		return nil, "", err
	}
	if u.Kind() != uri.KindProject {
		return nil, "", usage(c, "%q names a %s; give a project ([ALIAS/]project/P)", arg, u.Kind())
	}
	alias := ""
	if u.ExplicitInstance {
		alias = u.Instance
	}
	cl, err := cloudClient(c, alias)
	return cl, u.Project, err
}

func projectCommand(a *appState) *cli.Command {
	one := func(c *cli.Context, what string) error {
		if c.NArg() != 1 {
			return usage(c, "give one project URI ([ALIAS/]project/P)%s", what)
		}
		return nil
	}
	return &cli.Command{
		Name:  "project",
		Usage: "manage the projects of a cloud instance and their members",
		Subcommands: []*cli.Command{
			{
				Name: "create", Usage: "create a project; you own it", ArgsUsage: "URI",
				Flags: []cli.Flag{instanceFlag(), &cli.BoolFlag{Name: "public", Usage: "anyone may read it"}},
				Action: func(c *cli.Context) error {
					if err := one(c, ""); err != nil {
						return err
					}
					cl, p, err := projectArg(c, c.Args().First())
					if err != nil {
						return err
					}
					pr, err := cl.CreateProject(c.Context, p, c.Bool("public"))
					if err != nil {
						return err
					}
					return a.render(pr, func() { fmt.Printf("created project %s on %s (public: %v)\n", pr.Name, cl.Name, pr.Public) })
				},
			},
			{
				Name: "list", Aliases: []string{"ls"}, Usage: "list the projects you may read",
				Flags: []cli.Flag{instanceFlag()},
				Action: func(c *cli.Context) error {
					alias := ""
					if c.NArg() == 1 {
						alias = strings.TrimPrefix(c.Args().First(), "cloud://")
					}
					cl, err := cloudClient(c, alias)
					if err != nil {
						return err
					}
					ps, err := cl.ListProjects(c.Context)
					if err != nil {
						return err
					}
					return a.render(nonNil(ps), func() {
						var rows [][]string
						for _, p := range ps {
							rows = append(rows, []string{p.Name, fmt.Sprint(p.Public), fmt.Sprint(len(p.Members)), ago(p.Created)})
						}
						printTable([]string{"NAME", "PUBLIC", "MEMBERS", "CREATED"}, rows)
					})
				},
			},
			{
				Name: "info", Usage: "show a project and its members", ArgsUsage: "URI",
				Flags: []cli.Flag{instanceFlag()},
				Action: func(c *cli.Context) error {
					if err := one(c, ""); err != nil {
						return err
					}
					cl, p, err := projectArg(c, c.Args().First())
					if err != nil {
						return err
					}
					pr, err := cl.ProjectInfo(c.Context, p)
					if err != nil {
						return err
					}
					return a.render(pr, func() {
						fmt.Printf("project %s on %s, public: %v, created %s\n", pr.Name, cl.Name, pr.Public, ago(pr.Created))
						var rows [][]string
						for _, m := range pr.Members {
							rows = append(rows, []string{m.User, string(m.Role)})
						}
						printTable([]string{"MEMBER", "ROLE"}, rows)
					})
				},
			},
			{
				Name:  "member",
				Usage: "add or remove project members (owner)",
				Subcommands: []*cli.Command{
					{
						Name: "add", Usage: "give USER a role in the project (or change it)", ArgsUsage: "PROJECT_URI USER",
						Flags: []cli.Flag{instanceFlag(), &cli.StringFlag{Name: "role", Usage: "owner, maintainer or guest", Required: true}},
						Action: func(c *cli.Context) error {
							if c.NArg() != 2 {
								return usage(c, "give PROJECT_URI and USER")
							}
							role := c.String("role")
							if role != "owner" && role != "maintainer" && role != "guest" {
								return usage(c, "--role %q is not a role; allowed: owner, maintainer, guest", role)
							}
							cl, p, err := projectArg(c, c.Args().Get(0))
							if err != nil {
								return err
							}
							if err := cl.SetMember(c.Context, p, c.Args().Get(1), role); err != nil {
								return err
							}
							return a.render(map[string]string{"user": c.Args().Get(1), "role": role, "project": p}, func() {
								fmt.Printf("%s is %s of project %s\n", c.Args().Get(1), role, p)
							})
						},
					},
					{
						Name: "remove", Usage: "take USER out of the project", ArgsUsage: "PROJECT_URI USER",
						Flags: []cli.Flag{instanceFlag()},
						Action: func(c *cli.Context) error {
							if c.NArg() != 2 {
								return usage(c, "give PROJECT_URI and USER")
							}
							cl, p, err := projectArg(c, c.Args().Get(0))
							if err != nil {
								return err
							}
							if err := cl.RemoveMember(c.Context, p, c.Args().Get(1)); err != nil {
								return err
							}
							return a.render(map[string]string{"removed": c.Args().Get(1), "project": p}, func() {
								fmt.Printf("removed %s from project %s\n", c.Args().Get(1), p)
							})
						},
					},
				},
			},
		},
	}
}
