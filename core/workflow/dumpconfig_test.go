package workflow

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaskSecrets(t *testing.T) {
	in := `[global]
index-url = https://alice:s3cret@pypi.example.com/simple
extra-index-url = https://tok123@other.example.com/simple
trusted-host = pypi.example.com
password = hunter2
channels:
  - https://conda.anaconda.org/t/ab-12345/mychan
client_token: xyz
`
	out := MaskSecrets(in)
	for _, s := range []string{"s3cret", "tok123", "hunter2", "ab-12345", "xyz"} {
		assert.NotContains(t, out, s)
	}
	for _, s := range []string{"https://alice:***@pypi.example.com/simple", "https://***@other.example.com", "trusted-host = pypi.example.com",
		"password = ***", "/t/***/mychan", "client_token: ***"} {
		assert.Contains(t, out, s)
	}
}

func TestDumpConfigs(t *testing.T) {
	wd, home := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CONDARC", "")
	cfg := filepath.Join(home, "pip.conf")
	require.NoError(t, os.WriteFile(cfg, []byte("[global]\nindex-url = https://u:pw@h/simple\n"), 0o600))
	t.Setenv("PIP_CONFIG_FILE", cfg)
	files, err := dumpConfigs(wd, true, false)
	require.NoError(t, err)
	assert.Equal(t, []string{DumpDir + "/pip.conf"}, files)
	data, err := os.ReadFile(filepath.Join(wd, DumpDir, "pip.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "https://u:***@h/simple")
	assert.NotContains(t, string(data), "pw@")

	_, err = dumpConfigs(wd, false, true)
	if _, statErr := os.Stat("/etc/conda/condarc"); statErr != nil {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--dump-condarc: found no condarc (looked in")
	}
}
