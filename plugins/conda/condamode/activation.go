package condamode

import (
	"context"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Activation returns what "conda activate PREFIX" sets: CONDA_PREFIX,
// CONDA_DEFAULT_ENV (the name), CONDA_SHLVL=1, CONDA_PROMPT_MODIFIER and
// PATH=PREFIX/bin:${PATH}, and unsets PYTHONHOME. The Script does the same in
// the shell's syntax (it stands alone: eval it in a plain shell), then sources
// the environment's etc/conda/activate.d/*.sh (bash, zsh, sh) or *.fish
// (fish) scripts, as "conda activate" does, and in an interactive shell puts
// "(NAME) " in front of the prompt.
func (m *Mode) Activation(ctx context.Context, req mode.ActivationRequest) (mode.Activation, error) {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return mode.Activation{}, err
	}
	name := req.Name
	if name == "" {
		name = filepath.Base(env.Prefix)
	}
	prompt := "(" + name + ") "
	act := mode.Activation{
		Vars: []mode.EnvVar{
			{Name: "CONDA_PREFIX", Value: env.Prefix},
			{Name: "CONDA_DEFAULT_ENV", Value: name},
			{Name: "CONDA_SHLVL", Value: "1"},
			{Name: "CONDA_PROMPT_MODIFIER", Value: prompt},
			{Name: "PATH", Value: filepath.Join(env.Prefix, "bin") + ":${PATH}"},
		},
		Unset: []string{"PYTHONHOME"},
	}
	act.ScriptRequired = len(activateScripts(env.Prefix, ".sh")) > 0
	var b strings.Builder
	switch req.Shell {
	case "bash", "zsh", "sh":
		for _, v := range act.Vars {
			if v.Name == "PATH" {
				b.WriteString("export PATH=" + pyenv.ShQuote(filepath.Join(env.Prefix, "bin")) + "\"${PATH:+:$PATH}\"\n")
				continue
			}
			b.WriteString("export " + v.Name + "=" + pyenv.ShQuote(v.Value) + "\n")
		}
		b.WriteString("unset PYTHONHOME\n")
		b.WriteString(activateSh(env.Prefix))
		b.WriteString("case $- in *i*) PS1=" + pyenv.ShQuote(prompt) + "\"${PS1-}\" ;; esac\n")
		b.WriteString("hash -r 2>/dev/null || true\n")
	case "fish":
		for _, v := range act.Vars {
			if v.Name == "PATH" {
				b.WriteString("set -gx PATH " + pyenv.FishQuote(filepath.Join(env.Prefix, "bin")) + " $PATH\n")
				continue
			}
			b.WriteString("set -gx " + v.Name + " " + pyenv.FishQuote(v.Value) + "\n")
		}
		b.WriteString("set -e PYTHONHOME\n")
		for _, f := range activateScripts(env.Prefix, ".fish") {
			b.WriteString("source " + pyenv.FishQuote(f) + "\n")
		}
		b.WriteString("if status is-interactive; and functions -q fish_prompt; and not functions -q _sw_old_fish_prompt\n" +
			"    functions -c fish_prompt _sw_old_fish_prompt\n" +
			"    function fish_prompt; printf '%s' " + pyenv.FishQuote(prompt) + "; _sw_old_fish_prompt; end\n" +
			"end\n")
	default:
		return mode.Activation{}, mode.Errorf(mode.ErrUnsupported,
			"shell %q is not supported by conda mode (supported: %s)", req.Shell, strings.Join(mode.Shells, ", "))
	}
	act.Script = b.String()
	return act, nil
}

// activateScripts lists PREFIX/etc/conda/activate.d/*EXT in the order conda
// sources them (sorted by name). They are listed here rather than globbed in
// the shell: zsh fails on a glob that matches nothing.
func activateScripts(prefix, ext string) []string {
	ms, _ := filepath.Glob(filepath.Join(prefix, "etc", "conda", "activate.d", "*"+ext))
	sort.Strings(ms)
	return ms
}

// activateSh sources etc/conda/activate.d/*.sh in sh syntax.
func activateSh(prefix string) string {
	var b strings.Builder
	for _, f := range activateScripts(prefix, ".sh") {
		b.WriteString(". " + pyenv.ShQuote(f) + "\n")
	}
	return b.String()
}
