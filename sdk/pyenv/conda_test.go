package pyenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookupConda(t *testing.T) {
	dir := t.TempDir()
	mm := filepath.Join(dir, "micromamba")
	require.NoError(t, os.WriteFile(mm, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
	t.Setenv("CONDA_EXE", "")
	t.Setenv(EnvCondaExe, "")
	require.Equal(t, mm, LookupConda(), "the first conda-family tool on PATH")

	t.Setenv("CONDA_EXE", "/opt/conda/bin/conda")
	require.Equal(t, "/opt/conda/bin/conda", LookupConda(), "an activated conda's CONDA_EXE before PATH")

	t.Setenv(EnvCondaExe, "/x/mamba")
	require.Equal(t, "/x/mamba", LookupConda(), "SW_CONDA_EXE first")

	t.Setenv(EnvCondaExe, "")
	t.Setenv("CONDA_EXE", "")
	t.Setenv("PATH", t.TempDir())
	require.Equal(t, "", LookupConda())
}
