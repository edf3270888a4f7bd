package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/storeurl"
	"github.com/swcli/swcli/core/workflow"
)

// completeCommand is the hidden command the shell scripts call:
// `swcli __complete WORD... CURRENT` prints the candidates for CURRENT, one
// a line. It reads the local instance's store: the filesystem store under the
// storage root, or the one SW_STORE or the CLI config's `store:` names (a
// store plugin, for s3://, starts only when runtimes are to be completed,
// and stops before it returns). It never fails: a broken store completes
// nothing.
const completeCommand = "__complete"

// runtimeArgCommands are the commands whose positionals name runtimes.
var runtimeArgCommands = []string{"info", "history", "tag", "remove", "recover", "copy", "restore", "extract", "diff", "run", "activate", "dockerize"}

var completionScripts = map[string]string{
	"bash": `# swcli bash completion. Install: echo 'source <(swcli completion bash)' >> ~/.bashrc
_swcli_complete() {
    local IFS=$'\n'
    COMPREPLY=($(swcli __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _swcli_complete swcli
`,
	"zsh": `#compdef swcli
# swcli zsh completion. Install: echo 'source <(swcli completion zsh)' >> ~/.zshrc (after compinit)
_swcli() {
    local -a cands
    cands=("${(@f)$(swcli __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    compadd -- "${cands[@]}"
}
compdef _swcli swcli
`,
	"fish": `# swcli fish completion. Install: swcli completion fish > ~/.config/fish/completions/swcli.fish
complete -c swcli -f -a '(swcli __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script: bash, zsh or fish (the script says how to install it)",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			script, ok := completionScripts[c.Args().First()]
			if c.NArg() != 1 || !ok {
				return usage(c, "give one shell, got %q; allowed: bash, zsh, fish", strings.Join(c.Args().Slice(), " "))
			}
			_, err := fmt.Print(script)
			return err
		},
	}
}

// runComplete prints the candidates for words (the last is the word being
// completed).
func runComplete(a *appState, app *cli.App, words []string) int {
	defer a.close()
	for _, w := range complete(context.Background(), a, app, words) {
		fmt.Println(w)
	}
	return 0
}

func complete(ctx context.Context, a *appState, app *cli.App, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, prev := words[len(words)-1], words[:len(words)-1]
	cmds, flags := app.Commands, app.Flags
	var leaf *cli.Command
	for i := 0; i < len(prev); i++ {
		w := prev[i]
		if strings.HasPrefix(w, "-") {
			if takesValue(flags, w) && !strings.Contains(w, "=") {
				if i == len(prev)-1 {
					return flagValues(w, cur)
				}
				i++
			}
			continue
		}
		if c := findCommand(cmds, w); c != nil {
			leaf, cmds, flags = c, c.Subcommands, append(append([]cli.Flag{}, flags...), c.Flags...)
		}
	}
	var out []string
	add := func(s string) {
		if strings.HasPrefix(s, cur) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch {
	case strings.HasPrefix(cur, "-"):
		for _, f := range flags {
			// Aliases are short flags, one letter or Starwhale's several
			// (-cp, -dpo): one dash.
			for i, n := range f.Names() {
				if i == 0 && len(n) > 1 {
					add("--" + n)
				} else {
					add("-" + n)
				}
			}
		}
	case len(cmds) > 0:
		for _, c := range cmds {
			if !c.Hidden {
				add(c.Name)
			}
		}
	case leaf != nil && slices.Contains(runtimeArgCommands, leaf.Name):
		for _, r := range runtimeCandidates(ctx, a, cur) {
			add(r)
		}
	}
	return out
}

// flagValues completes the value of a flag that has a fixed set of them.
func flagValues(flag, cur string) []string {
	var vals []string
	switch strings.TrimLeft(flag, "-") {
	case "output", "o":
		vals = []string{"text", "json"}
	case "shell":
		vals = []string{"bash", "zsh", "fish", "sh"}
	case "output-filter", "of":
		vals = infoFilters
	case "filter", "fl":
		vals = []string{"name=", "latest"}
	}
	var out []string
	for _, v := range vals {
		if strings.HasPrefix(v, cur) {
			out = append(out, v)
		}
	}
	return out
}

// runtimeCandidates are the runtime names of the local instance's default
// project, or, once cur is NAME/version/..., NAME's versions and tags.
func runtimeCandidates(ctx context.Context, a *appState, cur string) []string {
	root, err := instance.StorageRoot()
	if err != nil {
		return nil
	}
	// The plugin catalog is read only when a store URL is set.
	openStore := func(ctx context.Context, raw string) (store.Store, error) {
		h, err := a.plugins()
		if err != nil {
			return nil, err
		}
		return (&storeurl.Opener{Host: h}).Open(ctx, raw)
	}
	l, err := (&instance.Opener{StorageRoot: root, ReadConfig: workflow.ReadConfigName, OpenStore: openStore}).Local()
	if err != nil {
		return nil
	}
	defer l.Close()
	if name, _, ok := strings.Cut(cur, "/version/"); ok {
		vs, err := l.ListVersions(ctx, instance.DefaultProject, name, false)
		if err != nil {
			return nil
		}
		var out []string
		for _, v := range vs {
			out = append(out, name+"/version/"+v.Short)
			for _, t := range v.Tags {
				out = append(out, name+"/version/"+t)
			}
		}
		return out
	}
	names, _ := l.Registry().RuntimeNames(ctx, instance.DefaultProject)
	return names
}

// completeArgs says whether args are a completion request, which skips the
// flag reordering (the words are the user's, as typed).
func completeArgs(args []string) ([]string, bool) {
	if len(args) >= 2 && args[1] == completeCommand {
		return args[2:], true
	}
	return nil, false
}
