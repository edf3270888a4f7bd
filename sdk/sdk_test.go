package sdk_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// linksTesting is where a package may import testing and still be part of
// a shipped binary: go-plugin's own testing.go (TestPluginGRPCConn and
// friends) is compiled into every go-plugin user; no version of it has a
// build tag for that file. Nothing of ours may be on this list.
var linksTesting = map[string]bool{"github.com/hashicorp/go-plugin": true}

// TestShippedBinariesDoNotImportTesting checks, with go list -deps, that no
// package linked into swcli, a shipped plugin or the example plugin imports
// testing (or testify), apart from go-plugin itself: test helpers live in
// sdk/sdktest, sdk/modetest and sdk/storetest, never in sdk.
func TestShippedBinariesDoNotImportTesting(t *testing.T) {
	root := goList(t, "", "-m", "-f", "{{.Dir}}")
	mains := strings.Fields(goList(t, root, "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`,
		"./cmd/swcli", "./plugins/...", "./sdk/examples/..."))
	require.Contains(t, mains, "github.com/swcli/swcli/cmd/swcli")
	require.Contains(t, mains, "github.com/swcli/swcli/plugins/venv")
	require.Contains(t, mains, "github.com/swcli/swcli/plugins/conda")
	require.Contains(t, mains, "github.com/swcli/swcli/plugins/s3store")
	for _, m := range mains {
		t.Run(m, func(t *testing.T) {
			out := goList(t, root, "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, m)
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Fields(line)
				if len(f) == 0 || linksTesting[f[0]] {
					continue
				}
				for _, imp := range f[1:] {
					if imp == "testing" || strings.HasPrefix(imp, "github.com/stretchr/testify") {
						t.Errorf("%s links %s into %s", f[0], imp, m)
					}
				}
			}
		})
	}
}

func goList(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go list %v: %s", args, out)
	return strings.TrimSpace(string(out))
}
