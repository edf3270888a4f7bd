package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves flags that follow positional arguments in front of them,
// so `swcli runtime extract URI --target-dir D` works as Starwhale users type
// it (urfave/cli v2 stops parsing flags at the first positional). Everything
// after "--" is passed through untouched.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	cmds := app.Commands
	flags := app.Flags
	i := 1
	// Global flags and the command path.
	var pre []string
	passthrough := false
	for i < len(args) {
		a := args[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			pre = append(pre, a)
			if takesValue(flags, a) && !strings.Contains(a, "=") && i+1 < len(args) {
				pre = append(pre, args[i+1])
				i++
			}
			i++
			continue
		}
		c := findCommand(cmds, a)
		if c == nil {
			break
		}
		pre = append(pre, a)
		passthrough = passthroughCommands[c.Name]
		cmds, flags = c.Subcommands, append(append([]cli.Flag{}, flags...), c.Flags...)
		i++
		if len(c.Subcommands) == 0 {
			break
		}
	}
	out = append(out, pre...)
	var fl, pos []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if passthrough && len(pos) > 0 {
			// `runtime run TARGET cmd -x`: the command's own flags stay.
			pos = append(pos, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			fl = append(fl, a)
			if takesValue(flags, a) && !strings.Contains(a, "=") && i+1 < len(args) {
				fl = append(fl, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	out = append(out, fl...)
	if len(pos) > 0 && pos[0] != "--" {
		// End flag parsing so positionals that follow stay positional.
		out = append(out, "--")
	}
	return append(out, pos...)
}

// passthroughCommands are commands whose arguments after the first
// positional are a command line to run, never swcli flags.
var passthroughCommands = map[string]bool{"run": true}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, al := range c.Aliases {
			if al == name {
				return c
			}
		}
	}
	return nil
}

func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if k := strings.IndexByte(name, '='); k >= 0 {
		name = name[:k]
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				if bf, ok := f.(*cli.BoolFlag); ok && bf != nil {
					return false
				}
				return true
			}
		}
	}
	return false
}
