package main_test

// Helpers of the build and store end-to-end tests (build_e2e_test.go,
// store_e2e_test.go). Names start with "st" so they do not collide with the
// helpers of the create/activate/run tests (helpers_test.go), which they use.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// stBuild is what `swcli -o json runtime build` prints.
type stBuild struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Digest  string   `json:"digest"`
	Tags    []string `json:"tags"`
	URI     string   `json:"uri"`
	Size    int64    `json:"size"`
	Layers  int      `json:"layers"`
	Reused  int      `json:"layers_reused"`
}

// stVersion is a version as -o json prints it (history, tag, recover, copy).
type stVersion struct {
	Name    string   `json:"name"`
	Project string   `json:"project"`
	Digest  string   `json:"digest"`
	Short   string   `json:"short"`
	Tags    []string `json:"tags"`
	Size    int64    `json:"size"`
	Removed bool     `json:"removed"`
}

// stJSON decodes s into a T, failing the test on bad JSON.
func stJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), "bad JSON:\n%s", s)
	return v
}

// stWorkdir writes a seed-form workdir for runtime name on Python py whose
// requirements.txt installs the given wheels (built into wd/wheels) by path.
func stWorkdir(t *testing.T, dir, name, py string, wheels ...testpy.Wheel) string {
	t.Helper()
	write(t, filepath.Join(dir, "runtime.yaml"), fmt.Sprintf("mode: venv\nname: %s\npython_version: %q\n", name, py))
	var req strings.Builder
	for _, w := range wheels {
		_, err := testpy.BuildWheel(filepath.Join(dir, "wheels"), w)
		require.NoError(t, err)
		req.WriteString("wheels/" + testpy.WheelFileName(w) + "\n")
	}
	write(t, filepath.Join(dir, "requirements.txt"), req.String())
	return dir
}

// stBuildOK runs `swcli -o json runtime build args...` and decodes it.
func (c *cli) stBuildOK(args ...string) stBuild {
	c.t.Helper()
	r := c.ok(append([]string{"-o", "json", "runtime", "build"}, args...)...)
	b := stJSON[stBuild](c.t, r.stdout)
	require.Len(c.t, b.Version, 12, "short version: %s", r.stdout)
	return b
}

// stStore is the local store of the sandbox.
func (c *cli) stStore() string { return filepath.Join(c.home, "storage", "store") }

// stBlobs lists the blobs of the local store.
func (c *cli) stBlobs() []string {
	c.t.Helper()
	ents, err := os.ReadDir(filepath.Join(c.stStore(), "blobs", "sha256"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(c.t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// stState is a listing of the store's blobs/ and projects/ (what a bad
// input must leave unchanged).
func (c *cli) stState() map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, d := range []string{"blobs", "projects"} {
		for k, v := range tree(c.t, filepath.Join(c.stStore(), d)) {
			out[d+"/"+k] = v
		}
	}
	return out
}

// stHistory is `runtime history NAME` as JSON.
func (c *cli) stHistory(name string, more ...string) []stVersion {
	c.t.Helper()
	r := c.ok(append([]string{"-o", "json", "runtime", "history", name}, more...)...)
	return stJSON[[]stVersion](c.t, r.stdout)
}

// stShorts lists the short versions of vs.
func stShorts(vs []stVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Short)
	}
	return out
}

// stFailSame runs a command that must fail with one line holding every want
// and leave the store as it was.
func (c *cli) stFailSame(wants []string, args ...string) string {
	c.t.Helper()
	before := c.stState()
	line := c.fail(wants, args...)
	sameTree(c.t, before, c.stState(), "store after: swcli "+strings.Join(args, " "))
	return line
}
