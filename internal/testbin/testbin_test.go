package testbin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRelativeBinFromModuleRoot: `SWCLI_BIN=bin go test ./cmd/swcli` (the
// README's command) names the module's bin/, whatever folder the test runs
// in.
func TestRelativeBinFromModuleRoot(t *testing.T) {
	root := repoRoot()
	_, err := os.Stat(filepath.Join(root, "go.mod"))
	assert.NoError(t, err, "repoRoot %s is not the module root", root)
	assert.Equal(t, filepath.Join(root, "bin"), fromRoot("bin"))
	assert.Equal(t, filepath.Join(root, "bin"), fromRoot("./bin"))
	assert.Equal(t, "/opt/x/bin", fromRoot("/opt/x/bin"))
}
