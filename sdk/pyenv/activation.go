package pyenv

import (
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
	var b strings.Builder
	switch shell {
	case "bash", "zsh", "sh":
		for _, v := range vars {
			if dir, ok := strings.CutSuffix(v.Value, pathFront); ok && v.Name == "PATH" {
				b.WriteString("export PATH=" + ShQuote(dir) + "\"${PATH:+:$PATH}\"\n")
				continue
			}
			b.WriteString("export " + v.Name + "=" + ShQuote(v.Value) + "\n")
		}
		for _, u := range unset {
			b.WriteString("unset " + u + "\n")
		}
		for _, f := range sources {
			b.WriteString(". " + ShQuote(f) + "\n")
		}
		if prompt != "" {
			b.WriteString("case $- in *i*) PS1=" + ShQuote(prompt) + "\"${PS1-}\" ;; esac\n")
		}
		b.WriteString("hash -r 2>/dev/null || true\n")
	case "fish":
		for _, v := range vars {
			if dir, ok := strings.CutSuffix(v.Value, pathFront); ok && v.Name == "PATH" {
				b.WriteString("set -gx PATH " + FishQuote(dir) + " $PATH\n")
				continue
			}
			b.WriteString("set -gx " + v.Name + " " + FishQuote(v.Value) + "\n")
		}
		for _, u := range unset {
			b.WriteString("set -e " + u + "\n")
		}
		for _, f := range sources {
			b.WriteString("source " + FishQuote(f) + "\n")
		}
		if prompt != "" {
			b.WriteString("if status is-interactive; and functions -q fish_prompt; and not functions -q _swcli_old_fish_prompt\n" +
				"    functions -c fish_prompt _swcli_old_fish_prompt\n" +
				"    function fish_prompt; printf '%s' " + FishQuote(prompt) + "; _swcli_old_fish_prompt; end\n" +
				"end\n")
		}
	default:
		return "", mode.Errorf(mode.ErrUnsupported, "shell %q is not supported; supported: %s", shell, strings.Join(mode.Shells, ", "))
	}
	return b.String(), nil
}
