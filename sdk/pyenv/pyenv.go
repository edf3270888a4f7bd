// Package pyenv is what every Python environment mode needs, for plugin
// authors (plugins/venv, plugins/conda and sdk/examples/targetmode use it):
// finding interpreters (PATH, pyenv's versions folder, --python), the
// version order of dotted Python versions, the environment to run Python
// tools in, and quoting for the shells activation scripts are written for.
package pyenv

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// VersionLess compares dotted numeric versions ("3.9.18" < "3.10.1"); a
// non-numeric part counts as 0.
func VersionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Root is pyenv's root folder: $PYENV_ROOT or ~/.pyenv ("" when there is
// no home).
func Root() string {
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		return r
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".pyenv")
}

// BaseEnv is this process's environment without what would make a Python
// run as another installation's (PYTHONHOME, macOS's __PYVENV_LAUNCHER__)
// and without the extra variables named in drop (a mode that installs with
// pip --target drops PIP_TARGET, PYTHONPATH and the like).
func BaseEnv(drop ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PYTHONHOME" || k == "__PYVENV_LAUNCHER__" || slices.Contains(drop, k) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// ShQuote quotes s for POSIX shells (sh, bash, zsh): single quotes, with '
// written as '\”.
func ShQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FishQuote quotes s for fish: single quotes, with \ and ' escaped.
func FishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Quote quotes s for shell ("fish" or a POSIX shell).
func Quote(shell, s string) string {
	if shell == "fish" {
		return FishQuote(s)
	}
	return ShQuote(s)
}
