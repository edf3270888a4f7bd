package condamode

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// Activation returns what "conda activate PREFIX" sets: CONDA_PREFIX,
// CONDA_DEFAULT_ENV (the name), CONDA_SHLVL=1, CONDA_PROMPT_MODIFIER and
// PATH=PREFIX/bin:${PATH}, and unsets PYTHONHOME. The Script, for a shell
// where those variables are already set, sources the environment's
// etc/conda/activate.d/*.sh (bash, zsh, sh) or *.fish (fish) scripts and puts
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
	switch req.Shell {
	case "bash", "zsh", "sh":
		act.Script = activateSh(env.Prefix) + "\n" +
			"PS1=" + shQuote(prompt) + "\"${PS1:-}\"\n"
	case "fish":
		act.Script = "for _sw_f in " + fishQuote(env.Prefix) + "/etc/conda/activate.d/*.fish\n" +
			"    source $_sw_f\n" +
			"end\n" +
			"set -e _sw_f\n" +
			"if functions -q fish_prompt; and not functions -q _sw_old_fish_prompt\n" +
			"    functions -c fish_prompt _sw_old_fish_prompt\n" +
			"    function fish_prompt\n" +
			"        printf '%s' " + fishQuote(prompt) + "\n" +
			"        _sw_old_fish_prompt\n" +
			"    end\n" +
			"end\n"
	default:
		return mode.Activation{}, mode.Errorf(mode.ErrUnsupported,
			"shell %q is not supported by conda mode (supported: %s)", req.Shell, strings.Join(mode.Shells, ", "))
	}
	return act, nil
}

// activateSh sources etc/conda/activate.d/*.sh in sh syntax.
func activateSh(prefix string) string {
	return "for _sw_f in " + shQuote(prefix) + "/etc/conda/activate.d/*.sh; do\n" +
		"    if [ -f \"$_sw_f\" ]; then . \"$_sw_f\"; fi\n" +
		"done\n" +
		"unset _sw_f"
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
