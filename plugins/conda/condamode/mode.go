// Package condamode is the conda environment mode: it drives conda, mamba or
// micromamba to make environments at a prefix, installs conda and pip
// dependencies into them, locks them (conda's explicit spec plus the pip part
// with its sources), lists each package's files for packing, relocates an
// unpacked environment like conda-pack does, and activates it.
//
// It owns the conda semantics only. It knows nothing of gRPC (sdk.ServeMode
// serves it), bundles or stores, and keeps no state between calls other than
// what conda writes under the prefix.
//
// The tool is found in this order: Options.CondaExe, $SW_CONDA_EXE, then
// conda, mamba and micromamba on PATH. conda and mamba 1.x share conda's CLI;
// micromamba and mamba 2.x (which is micromamba's CLI under another name)
// differ in a few commands, noted where they are built (see commands.go).
//
// The commands run, for conda's CLI (TOOL is conda or mamba 1.x):
//
//	TOOL --version                                                   (Doctor, discovery)
//	TOOL create -y -p PREFIX [-c CH]... [--override-channels] --json python=X.Y
//	TOOL install -y -p PREFIX [-c CH]... [--override-channels] --json SPEC...
//	TOOL env update -p PREFIX -f FILE                                (conda_env)
//	TOOL create -y -p PREFIX --json --file conda-lock.txt            (Restore)
//
// with $CONDARC (and $MAMBARC) naming a temporary file holding
// configs.conda.condarc when one is given. micromamba and mamba 2.x run
// "install -y -p PREFIX -f FILE" for conda_env. Lock runs no tool: it reads
// the explicit spec from conda-meta, as `conda list --explicit` does. Everything pip does goes through
// PREFIX/bin/python -m pip install with configs.pip as a venv would pass it;
// Lock, Files read dist-info folders with PREFIX/bin/python; shell commands
// run with /bin/sh -c after sourcing etc/conda/activate.d/*.sh.
package condamode

import (
	"context"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Name is the mode's name in runtime.yaml and in Info.
const Name = "conda"

// EnvCondaExe names the environment variable that selects the conda tool.
const EnvCondaExe = pyenv.EnvCondaExe

// Options configures a Mode.
type Options struct {
	// Version is the plugin's version reported by Info.
	Version string
	// CondaExe is the conda, mamba or micromamba executable to use. When empty
	// $SW_CONDA_EXE is used, then conda, mamba, micromamba on PATH.
	CondaExe string
}

// Mode is the conda mode. It is safe for concurrent use.
type Mode struct {
	opts Options
}

var _ mode.Mode = (*Mode)(nil)

// New returns a conda mode.
func New(opts Options) *Mode {
	if opts.Version == "" {
		opts.Version = "0.0.0-dev"
	}
	return &Mode{opts: opts}
}

// Info describes the plugin.
func (m *Mode) Info(ctx context.Context) (mode.Info, error) {
	return mode.Info{
		Name:             Name,
		Kind:             "mode",
		Version:          m.opts.Version,
		ProtocolVersions: []int{mode.ProtocolVersion},
		Capabilities:     mode.Capabilities{Relocate: true, SelfContained: true, IncludeEditable: true},
	}, nil
}

// Doctor reports the conda tool found (and its --version) and, when a Python
// version is asked for, says that conda provides it.
func (m *Mode) Doctor(ctx context.Context, req mode.DoctorRequest) (mode.DoctorReport, error) {
	var rep mode.DoctorReport
	t, err := m.findTool(ctx)
	if err != nil {
		rep.Tools = append(rep.Tools, mode.Tool{Name: "conda", OK: false, Message: err.Error()})
		return rep, nil
	}
	t.probeVersion(ctx)
	tl := mode.Tool{Name: t.name, Path: t.path, Version: t.version, OK: true}
	if t.version == "" {
		tl.OK = false
		tl.Message = t.path + " --version failed: " + t.versionErr
	}
	rep.Tools = append(rep.Tools, tl)
	if req.Python.Version != "" {
		rep.Tools = append(rep.Tools, mode.Tool{Name: "python" + req.Python.Version, OK: true,
			Message: "installed by " + t.name + " from the configured channels"})
	}
	return rep, nil
}
