package venvmode

import (
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// interpreter is a Python found on this machine (sdk/pyenv finds them).
type interpreter = pyenv.Interpreter

// envPython is the interpreter of the environment at prefix.
func envPython(prefix string) (string, error) {
	for _, n := range []string{"python", "python3"} {
		p := filepath.Join(prefix, "bin", n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", mode.Errorf(mode.ErrInvalid, "%s is not a venv: no bin/python (run create first)", prefix)
}
