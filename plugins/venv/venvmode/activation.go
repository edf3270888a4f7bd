package venvmode

import (
	"context"
	"path/filepath"

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
	script, err := pyenv.ActivationScript(req.Shell, act.Vars, act.Unset, nil, "("+name+") ")
	if err != nil {
		return mode.Activation{}, err
	}
	act.Script = script
	return act, nil
}
