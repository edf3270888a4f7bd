package pyenv

import (
	"os"
	"os/exec"
)

// EnvCondaExe names the environment variable that selects the conda-family
// tool (conda, mamba or micromamba) a conda mode runs.
const EnvCondaExe = "SW_CONDA_EXE"

// CondaTools are the conda-family tools looked up on PATH, in this order,
// when EnvCondaExe is not set.
var CondaTools = []string{"conda", "mamba", "micromamba"}

// LookupConda is the conda-family tool on this machine: $SW_CONDA_EXE, then
// $CONDA_EXE (set by an activated conda), then the first of CondaTools on
// PATH; "" when there is none. It does not check $SW_CONDA_EXE is usable:
// a mode that runs the tool reports that.
func LookupConda() string {
	for _, env := range []string{EnvCondaExe, "CONDA_EXE"} {
		if p := os.Getenv(env); p != "" {
			return p
		}
	}
	for _, n := range CondaTools {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}
