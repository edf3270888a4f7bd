package workflow

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

// TestCheckEditablesPacked: --include-editable refuses, naming the package,
// when the mode reported no source files for an editable install (a mode
// that does not know FilesRequest.IncludeEditable).
func TestCheckEditablesPacked(t *testing.T) {
	eds := []mode.LockedPackage{{Name: "Ed_Pkg", Version: "0.1", Editable: true}}
	rep := mode.FilesReport{Packages: []mode.PackageFiles{{Name: "ed-pkg", Version: "0.1"}}}
	err := checkEditablesPacked("target", eds, rep)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Ed_Pkg 0.1")
	assert.Contains(t, err.Error(), "target mode")
	rep.Packages[0].External = []mode.ExternalFile{{Src: "/src/edpkg/__init__.py", Dest: "lib/python3.11/site-packages/edpkg/__init__.py"}}
	assert.NoError(t, checkEditablesPacked("target", eds, rep))
	assert.NoError(t, checkEditablesPacked("target", nil, mode.FilesReport{}))
}
