package condamode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// call is one recorded call of the stand-in.
type call struct {
	Argv    []string `json:"argv"`
	Condarc string   `json:"condarc"`
	Cwd     string   `json:"cwd"`
}

// standin points the mode at testdata/conda-standin via SW_CONDA_EXE and
// returns the mode and a function that reads the calls recorded so far.
func standin(t *testing.T) (*Mode, func() []call) {
	t.Helper()
	exe, err := filepath.Abs("../testdata/conda-standin")
	require.NoError(t, err)
	log := filepath.Join(t.TempDir(), "calls.jsonl")
	t.Setenv(EnvCondaExe, exe)
	t.Setenv("CONDA_STANDIN_LOG", log)
	t.Setenv("CONDARC", "")
	t.Setenv("PIP_NO_INPUT", "1")
	return New(Options{Version: "test"}), func() []call {
		f, err := os.Open(log)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		require.NoError(t, err)
		defer f.Close()
		var calls []call
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var c call
			require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
			calls = append(calls, c)
		}
		return calls
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects events.
type recorder struct{ events []mode.Event }

func (r *recorder) ev() mode.Events { return func(e mode.Event) { r.events = append(r.events, e) } }

func (r *recorder) logs() string {
	var b strings.Builder
	for _, e := range r.events {
		if e.Level != "" {
			b.WriteString(e.Level + ": " + e.Message + "\n")
		}
	}
	return b.String()
}

func (r *recorder) progress(stage string) []mode.Event {
	var out []mode.Event
	for _, e := range r.events {
		if e.Level == "" && e.Stage == stage {
			out = append(out, e)
		}
	}
	return out
}

// modeErr asserts err is a *mode.Error with code and returns it.
func modeErr(t *testing.T, err error, code string) *mode.Error {
	t.Helper()
	require.Error(t, err)
	var me *mode.Error
	require.True(t, errors.As(err, &me), "want *mode.Error, got %T: %v", err, err)
	require.Equal(t, code, me.Code, "error: %v", me.Message)
	return me
}

func buildWheel(t *testing.T, dir string, w testpy.Wheel) string {
	t.Helper()
	p, err := testpy.BuildWheel(dir, w)
	require.NoError(t, err)
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func pkgNames(ps []mode.LockedPackage, installer string) []string {
	var out []string
	for _, p := range ps {
		if p.Installer == installer {
			out = append(out, p.Name+"=="+p.Version)
		}
	}
	return out
}

func findPkg(ps []mode.LockedPackage, name string) (mode.LockedPackage, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return mode.LockedPackage{}, false
}

func filesOf(rep mode.FilesReport, name string) (mode.PackageFiles, bool) {
	for _, p := range rep.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return mode.PackageFiles{}, false
}

// argvAfterExe drops the executable from a recorded call (the stand-in
// records sys.argv[1:]) — kept for readability of assertions.
func subcommand(c call) string {
	if len(c.Argv) == 0 {
		return ""
	}
	if c.Argv[0] == "env" && len(c.Argv) > 1 {
		return "env " + c.Argv[1]
	}
	return c.Argv[0]
}
