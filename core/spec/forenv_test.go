package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForEnvLoads(t *testing.T) {
	data, err := ForEnv("my-env", "venv", "3.11")
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), FileName)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	s, err := Load(p)
	require.NoError(t, err)
	assert.Equal(t, "my-env", s.Name)
	assert.Equal(t, "venv", s.Mode)
	assert.Equal(t, "3.11", s.Python)
	assert.Empty(t, s.Dependencies)
	_, err = ForEnv("Bad Name", "venv", "3.11")
	assert.Error(t, err)
	_, err = ForEnv("ok", "venv", "three")
	assert.Error(t, err)
}

func TestNameFromFolder(t *testing.T) {
	for in, want := range map[string]string{"My Env": "my-env", ".venv": "venv", "py3.11_env": "py3-11-env", "...": "", "ÄÖ": ""} {
		assert.Equal(t, want, NameFromFolder(in), in)
	}
}
