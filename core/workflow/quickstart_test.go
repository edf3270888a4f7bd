package workflow

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/pyenv"
)

// The checks and defaults of quickstart's answers, on a plan with a given
// list of Pythons: a venv needs one of them, conda any X.Y; the default
// Python is 3.8 when found, else the newest; requirement files stay inside
// the folder; every error names its flag.
func TestQuickstartPlanChecks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My Model_v2")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "reqs"), 0o755))
	p := &QuickstartPlan{Workdir: dir, Pythons: []pyenv.Interpreter{{Version: "3.10", Patch: "3.10.14", Path: "/py310"}, {Version: "3.12", Patch: "3.12.3", Path: "/py312"}}}
	assert.Equal(t, "my-model-v2", p.DefaultName())
	assert.Equal(t, "3.12", p.DefaultPython(), "no 3.8 here: the newest")
	p8 := &QuickstartPlan{Pythons: append([]pyenv.Interpreter{{Version: "3.8"}}, p.Pythons...)}
	assert.Equal(t, "3.8", p8.DefaultPython())
	assert.Equal(t, "3.8", (&QuickstartPlan{}).DefaultPython(), "none found: the spec's default")

	assert.NoError(t, p.CheckPython("venv", "3.10"))
	assert.ErrorContains(t, p.CheckPython("venv", "3.11"), "--python 3.11: no Python 3.11 found on this machine (found: 3.10 (/py310), 3.12 (/py312))")
	assert.NoError(t, p.CheckPython("conda", "3.11"), "conda installs its own Python")
	assert.ErrorContains(t, p.CheckPython("conda", "three"), `--python: "three"`)
	assert.ErrorContains(t, p.CheckMode("poetry"), `--mode "poetry" is not a mode quickstart makes; allowed: venv, conda`)
	assert.NoError(t, p.CheckMode("conda"))
	assert.ErrorContains(t, p.CheckName("Bad Name"), `--name "Bad Name"`)
	assert.NoError(t, p.CheckRequirements("reqs/dev.txt"))
	assert.ErrorContains(t, p.CheckRequirements("reqs"), "--requirements reqs is a folder")
	for _, bad := range []string{"", "../x.txt", "/etc/passwd"} {
		assert.ErrorContains(t, p.CheckRequirements(bad), "give a file inside the folder", bad)
	}
}
