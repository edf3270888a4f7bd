package pyenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// TestActivationScriptInRealShells sources the one activation text in
// every shell installed here: a value with quotes and blanks comes through,
// PATH gets the folder in front, PYTHONHOME is unset, the sources run in
// order; an unknown shell is ErrUnsupported naming the supported ones.
func TestActivationScriptInRealShells(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "env with space", "bin")
	val := `it's "quoted" $HOME`
	vars := []mode.EnvVar{{Name: "SWCLI_X", Value: val}, {Name: "PATH", Value: bin + ":${PATH}"}}
	for _, sh := range []string{"sh", "bash", "zsh", "fish"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s not installed: skipped", sh)
			continue
		}
		t.Run(sh, func(t *testing.T) {
			ext, get := ".sh", `printf '%s|%s|%s|%s' "$SWCLI_X" "${PATH%%:*}" "${PYTHONHOME-unset}" "$SWCLI_SRC"`
			if sh == "fish" {
				ext, get = ".fish", `printf '%s|%s|%s|%s' "$SWCLI_X" $PATH[1] (set -q PYTHONHOME; and echo set; or echo unset) "$SWCLI_SRC"`
			}
			src1, src2 := filepath.Join(dir, "1"+ext), filepath.Join(dir, "2"+ext)
			set := func(v string) string {
				if sh == "fish" {
					return "set -gx SWCLI_SRC " + v + "\n"
				}
				return "export SWCLI_SRC=" + v + "\n"
			}
			require.NoError(t, os.WriteFile(src1, []byte(set("one")), 0o644))
			require.NoError(t, os.WriteFile(src2, []byte(set(`"${SWCLI_SRC}two"`)), 0o644))
			if sh == "fish" {
				require.NoError(t, os.WriteFile(src2, []byte("set -gx SWCLI_SRC \"$SWCLI_SRC\"two\n"), 0o644))
			}
			script, err := pyenv.ActivationScript(sh, vars, []string{"PYTHONHOME"}, []string{src1, src2}, "(rt) ")
			require.NoError(t, err)
			f := filepath.Join(dir, "activate"+ext)
			require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
			dot := ". "
			if sh == "fish" {
				dot = "source "
			}
			cmd := exec.Command(path, "-c", dot+pyenv.Quote(sh, f)+"; "+get)
			cmd.Env = append(os.Environ(), "PYTHONHOME=/nowhere")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Equal(t, val+"|"+bin+"|unset|onetwo", string(out))
		})
	}
	_, err := pyenv.ActivationScript("tcsh", vars, nil, nil, "")
	var me *mode.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, mode.ErrUnsupported, me.Code)
	assert.True(t, strings.Contains(me.Message, "bash") && strings.Contains(me.Message, "fish"), me.Message)
}
