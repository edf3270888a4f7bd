package pyenv

import (
	"fmt"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// pathFront is how a mode.EnvVar for PATH says "this folder first":
// Value "DIR:${PATH}".
const pathFront = ":${PATH}"

// ActivationScript is the one text of the shell code that activates an
// environment, in POSIX syntax for bash, zsh and sh or in fish's: each of
// vars exported in order (a PATH whose value is "DIR:${PATH}" puts DIR in
// front of PATH, without a trailing ':' when PATH was empty), each of unset
// unset, each of sources sourced in order (files in that shell's syntax:
// the caller lists *.sh files for POSIX shells and *.fish for fish), and in
// an interactive shell prompt put in front of the prompt; POSIX shells then
// forget the command paths they remembered (hash -r). The script stands
// alone: eval it in a plain shell. Another shell is an ErrUnsupported
// *mode.Error that names the supported ones.
func ActivationScript(shell string, vars []mode.EnvVar, unset, sources []string, prompt string) (string, error) {
	d, ok := dialects[shell]
	if !ok {
		return "", mode.Errorf(mode.ErrUnsupported, "shell %q is not supported; supported: %s", shell, strings.Join(mode.Shells, ", "))
	}
	var b strings.Builder
	for _, v := range vars {
		if dir, ok := strings.CutSuffix(v.Value, pathFront); ok && v.Name == "PATH" {
			fmt.Fprintf(&b, d.prependPath, d.quote(dir))
			continue
		}
		fmt.Fprintf(&b, d.export, v.Name, d.quote(v.Value))
	}
	for _, u := range unset {
		fmt.Fprintf(&b, d.unset, u)
	}
	for _, f := range sources {
		fmt.Fprintf(&b, d.source, d.quote(f))
	}
	if prompt != "" {
		fmt.Fprintf(&b, d.prompt, d.quote(prompt))
	}
	b.WriteString(d.end)
	return b.String(), nil
}

// dialect is one shell's syntax for each part of an activation script:
// fmt formats whose %s are quoted with quote (but variable names, which
// are not quoted).
type dialect struct {
	quote                                           func(string) string
	prependPath, export, unset, source, prompt, end string
}

var posixDialect = dialect{
	quote:       ShQuote,
	prependPath: "export PATH=%s\"${PATH:+:$PATH}\"\n",
	export:      "export %s=%s\n",
	unset:       "unset %s\n",
	source:      ". %s\n",
	prompt:      "case $- in *i*) PS1=%s\"${PS1-}\" ;; esac\n",
	end:         "hash -r 2>/dev/null || true\n",
}

// dialects are the shells ActivationScript writes for (mode.Shells).
var dialects = map[string]dialect{
	"bash": posixDialect, "zsh": posixDialect, "sh": posixDialect,
	"fish": {
		quote:       FishQuote,
		prependPath: "set -gx PATH %s $PATH\n",
		export:      "set -gx %s %s\n",
		unset:       "set -e %s\n",
		source:      "source %s\n",
		prompt: "if status is-interactive; and functions -q fish_prompt; and not functions -q _swcli_old_fish_prompt\n" +
			"    functions -c fish_prompt _swcli_old_fish_prompt\n" +
			"    function fish_prompt; printf '%%s' %s; _swcli_old_fish_prompt; end\n" +
			"end\n",
	},
}
