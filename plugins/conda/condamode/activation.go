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
	sources := activateScripts(env.Prefix, ".sh")
	if req.Shell == "fish" {
		sources = activateScripts(env.Prefix, ".fish")
	}
	script, err := pyenv.ActivationScript(req.Shell, act.Vars, act.Unset, sources, prompt)
	if err != nil {
		return mode.Activation{}, err
	}
	act.Script = script
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
