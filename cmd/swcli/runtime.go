package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/storeurl"
	"github.com/swcli/swcli/core/workflow"
	"github.com/swcli/swcli/internal/linkfile"
)

type errString string

func (e errString) Error() string { return string(e) }

func join(s []string) string { return strings.Join(s, ", ") }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func usage(c *cli.Context, format string, args ...any) error {
	path := commandPath(c)
	return errString(fmt.Sprintf("%s: %s (see swcli %s --help)", path, fmt.Sprintf(format, args...), path))
}

// commandPath is the full command path, e.g. "runtime copy".
func commandPath(c *cli.Context) string {
	var names []string
	for _, x := range c.Lineage() {
		if x.Command != nil && x.Command.Name != "" && x.Command.Name != c.App.Name {
			names = append([]string{x.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

func (a *appState) service() (*workflow.Service, error) {
	h, err := a.plugins()
	if err != nil {
		return nil, err
	}
	root, err := instance.StorageRoot()
	if err != nil {
		return nil, err
	}
	lm, err := linkfile.FromEnv()
	if err != nil {
		return nil, &workflow.UsageError{Msg: err.Error()}
	}
	return &workflow.Service{Modes: h, Events: a.events(), Version: version, Log: a.log(), StorageRoot: root, LinkMode: lm,
		OpenStore: (&storeurl.Opener{Host: h}).Open}, nil
}

func runtimeCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:    "runtime",
		Aliases: []string{"rt"},
		Usage:   "create, activate, run, build, copy and restore runtimes",
		Subcommands: append([]*cli.Command{
			createCommand(a),
			quickstartCommand(a),
			activateCommand(a),
			runCommand(a),
			dockerizeCommand(a),
			diffCommand(a),
			lockCommand(a),
		}, versionCommands(a)...),
	}
}

func createCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "write runtime.yaml and make the environment in WORKDIR/.starwhale/<mode>",
		ArgsUsage: "WORKDIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "runtime name (writes a new runtime.yaml); without it, WORKDIR's runtime.yaml is used"},
			&cli.StringFlag{Name: "mode", Aliases: []string{"m"}, Usage: "environment mode: venv, conda, or an installed mode plugin (swcli plugin list)", Value: ""},
			&cli.StringFlag{Name: "python", Usage: "Python X.Y (default 3.8), or a path to an interpreter"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "overwrite an existing runtime.yaml and environment"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give one WORKDIR, got %d arguments", c.NArg())
			}
			if c.String("name") == "" && (c.IsSet("mode")) {
				return usage(c, "--mode needs --name (the mode of an existing runtime.yaml is its mode)")
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			res, err := svc.Create(c.Context, workflow.CreateOptions{
				Workdir: c.Args().First(), Name: c.String("name"), Mode: c.String("mode"),
				Python: c.String("python"), Force: c.Bool("force"),
			})
			a.doneEvents()
			if err != nil {
				return err
			}
			return a.render(res, func() {
				fmt.Printf("created runtime %s (%s, Python %s) in %s\n", res.Name, res.Mode, res.Python, res.Prefix)
				fmt.Printf("activate it with: swcli runtime activate %s\n", c.Args().First())
			})
		},
	}
}

func activateCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "activate",
		Usage:     "start a subshell in the environment, or print shell code for eval",
		ArgsUsage: "WORKDIR|URI|FILE.swrt",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "print", Usage: "print shell code for eval instead of starting a subshell (default when stdout is not a terminal)"},
			&cli.StringFlag{Name: "shell", Usage: "bash, zsh, fish or sh (default from $SHELL)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one WORKDIR")
			}
			shell := c.String("shell")
			if shell != "" && shell != "bash" && shell != "zsh" && shell != "fish" && shell != "sh" {
				return usage(c, "--shell %q is not supported; allowed: bash, zsh, fish, sh", shell)
			}
			if shell == "" {
				shell = workflow.DefaultShell()
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			t, err := svc.OpenTarget(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			act, err := svc.Activation(c.Context, t, shell)
			if err != nil {
				return err
			}
			if c.Bool("print") || !term.IsTerminal(int(os.Stdout.Fd())) {
				fmt.Print(act.Script)
				if !strings.HasSuffix(act.Script, "\n") {
					fmt.Println()
				}
				return nil
			}
			a.close() // no plugin needs to live while the user works
			code, err := workflow.Subshell(shell, act.Script, t.Name)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
}

func runCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a command inside the environment; its exit code is passed through",
		ArgsUsage: "WORKDIR|URI|FILE.swrt -- CMD [ARGS...]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return usage(c, "give a WORKDIR and a command, e.g. swcli runtime run . -- python -V")
			}
			target, argv := args[0], args[1:]
			if len(argv) > 0 && argv[0] == "--" {
				argv = argv[1:]
			}
			if len(argv) == 0 {
				return usage(c, "nothing to run: give a command after --, e.g. swcli runtime run %s -- python -V", target)
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			t, err := svc.OpenTarget(c.Context, target)
			if err != nil {
				return err
			}
			code, err := svc.Run(c.Context, t, argv)
			a.close()
			var re *workflow.RunError
			if errors.As(err, &re) {
				fmt.Fprintf(os.Stderr, "swcli: %s\n", re.Error())
				return &exitError{code}
			}
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
}
