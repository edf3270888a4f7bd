package venvmode

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Activation returns VIRTUAL_ENV=prefix, PATH=prefix/bin:${PATH}, unset
// PYTHONHOME, and the same as shell code for bash, zsh, sh or fish (with a
// "(NAME) " prompt prefix in interactive shells).
func (m *Mode) Activation(ctx context.Context, req mode.ActivationRequest) (mode.Activation, error) {
	prefix := filepath.Clean(req.Env.Prefix)
	if req.Env.Prefix == "" || !filepath.IsAbs(prefix) {
		return mode.Activation{}, mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", req.Env.Prefix)
	}
	name := req.Name
	if name == "" {
		name = filepath.Base(prefix)
	}
	bin := filepath.Join(prefix, "bin")
	act := mode.Activation{
		Vars: []mode.EnvVar{
			{Name: "VIRTUAL_ENV", Value: prefix},
			{Name: "PATH", Value: bin + ":${PATH}"},
		},
		Unset: []string{"PYTHONHOME"},
	}
	var b strings.Builder
	switch req.Shell {
	case "bash", "zsh", "sh":
		fmt.Fprintf(&b, "export VIRTUAL_ENV=%s\n", pyenv.ShQuote(prefix))
		fmt.Fprintf(&b, "export PATH=%s\"${PATH:+:$PATH}\"\n", pyenv.ShQuote(bin))
		b.WriteString("unset PYTHONHOME\n")
		fmt.Fprintf(&b, "case $- in *i*) PS1=%s\"${PS1-}\" ;; esac\n", pyenv.ShQuote("("+name+") "))
		b.WriteString("hash -r 2>/dev/null || true\n")
	case "fish":
		fmt.Fprintf(&b, "set -gx VIRTUAL_ENV %s\n", pyenv.FishQuote(prefix))
		fmt.Fprintf(&b, "set -gx PATH %s $PATH\n", pyenv.FishQuote(bin))
		b.WriteString("set -e PYTHONHOME\n")
		b.WriteString("if status is-interactive; and functions -q fish_prompt; and not functions -q _swcli_old_fish_prompt\n")
		b.WriteString("    functions -c fish_prompt _swcli_old_fish_prompt\n")
		fmt.Fprintf(&b, "    function fish_prompt; printf '%%s' %s; _swcli_old_fish_prompt; end\n", pyenv.FishQuote("("+name+") "))
		b.WriteString("end\n")
	default:
		return mode.Activation{}, mode.Errorf(mode.ErrUnsupported, "shell %q is not supported; supported: %s", req.Shell, strings.Join(mode.Shells, ", "))
	}
	act.Script = b.String()
	return act, nil
}
