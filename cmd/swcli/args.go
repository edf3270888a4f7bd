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
	// Global flags and the command path. Global flags (-o, --verbose) given
	// after a command name move to the front, where urfave/cli reads them;
	// cmdFlags are the flags of the commands on the path so far.
	var pre, global []string
	var cmdFlags []cli.Flag
	passthrough := false
	isGlobal := func(a string) bool { return isFlag(app.Flags, a) && !isFlag(cmdFlags, a) }
	for i < len(args) {
		a := args[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			dst := &pre
			if isGlobal(a) {
				dst = &global
			}
			*dst = append(*dst, a)
			if takesValue(flags, a) && !strings.Contains(a, "=") && i+1 < len(args) {
				*dst = append(*dst, args[i+1])
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
		cmdFlags = append(cmdFlags, c.Flags...)
		i++
		if len(c.Subcommands) == 0 {
			break
		}
	}
	var fl, pos []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if passthrough && len(pos) > 0 && !isFlag(flags, a) {
			// `runtime run TARGET cmd -x`: the command's own flags stay
			// (swcli's flags may still come between TARGET and the command).
			pos = append(pos, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			dst := &fl
			if isGlobal(a) {
				dst = &global
			}
			*dst = append(*dst, a)
			if takesValue(flags, a) && !strings.Contains(a, "=") && i+1 < len(args) {
				*dst = append(*dst, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	out = append(append(append(out, global...), pre...), fl...)
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

// isFlag says whether arg ("-o", "--output=json") names one of flags.
func isFlag(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if k := strings.IndexByte(name, '='); k >= 0 {
		name = name[:k]
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// takesValue says whether the flag arg names takes a value. flags go from
// global to the innermost command's, and the innermost wins: `build -v
// PREFIX` is build's --venv, not the global --verbose.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if k := strings.IndexByte(name, '='); k >= 0 {
		name = name[:k]
	}
	for i := len(flags) - 1; i >= 0; i-- {
		f := flags[i]
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
