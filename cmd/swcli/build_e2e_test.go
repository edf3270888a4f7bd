package main_test

// End-to-end tests of `swcli runtime build`: output, bundle layout,
// reproducibility, dedupe, pip check, editable installs and bad input.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// stInfoAll is `runtime info --output-filter all -o json`.
type stInfoAll struct {
	Basic struct {
		Name     string   `json:"name"`
		Version  string   `json:"version"`
		Tags     []string `json:"tags"`
		Mode     string   `json:"mode"`
		Python   string   `json:"python"`
		Layers   int      `json:"layers"`
		Packages int      `json:"packages"`
		LockOnly bool     `json:"lock_only"`
		URI      string   `json:"uri"`
	} `json:"basic"`
	RuntimeYAML string `json:"runtime_yaml"`
	Lock        []struct {
		Name    string   `json:"name"`
		Version string   `json:"version"`
		Source  string   `json:"source"`
		Hashes  []string `json:"hashes"`
	} `json:"lock"`
	Manifest struct {
		Name      string          `json:"name"`
		Mode      string          `json:"mode"`
		Python    string          `json:"python"`
		OS        string          `json:"os"`
		Arch      string          `json:"arch"`
		SpecFile  string          `json:"spec_file"`
		Spec      json.RawMessage `json:"spec"`
		LockFiles []string        `json:"lock_files"`
		LockOnly  bool            `json:"lock_only"`
		Swcli     string          `json:"swcli_version"`
	} `json:"manifest"`
	OCI struct {
		ArtifactType string `json:"artifactType"`
		Config       struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
		Layers []struct {
			MediaType   string            `json:"mediaType"`
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"layers"`
	} `json:"oci_manifest"`
}

func (c *cli) stInfo(uri string) stInfoAll {
	c.t.Helper()
	r := c.ok("-o", "json", "runtime", "info", uri, "--output-filter", "all")
	return stJSON[stInfoAll](c.t, r.stdout)
}

var builtLine = regexp.MustCompile(`^built (\S+) version ([0-9a-f]{12}) \(([^)]*)\)`)

// touchAll sets the time of every file and folder under dir (not following
// symlinks: the venv's python links into pyenv) to t.
func touchAll(tt *testing.T, dir string, t time.Time) {
	tt.Helper()
	require.NoError(tt, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, t, t)
	}))
}

func TestBuildE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	wd := stWorkdir(t, filepath.Join(root, "wd"), "hello-build", py.Version,
		testpy.Wheel{Name: "tiny-a", Version: "1.0"}, testpy.Wheel{Name: "tiny-b", Version: "1.0"})

	// 1. Text output: name, version and tags; -t is repeatable.
	r := c.ok("runtime", "build", wd, "-t", "first", "-t", "second")
	m := builtLine.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, "build output:\n%s", r.stdout)
	assert.Equal(t, "hello-build", m[1])
	v0 := m[2]
	assert.Equal(t, "v0, latest, first, second", m[3])
	assert.Contains(t, r.stdout, "local/project/self/runtime/hello-build/version/"+v0)

	// The lock is in WORKDIR/.starwhale/lock/, local wheels kept with hashes.
	lockText, err := os.ReadFile(filepath.Join(wd, ".starwhale", "lock", "requirements-lock.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(lockText), "wheels/tiny_a-1.0-py3-none-any.whl")
	assert.Contains(t, string(lockText), "wheels/tiny_b-1.0-py3-none-any.whl")
	assert.Regexp(t, `(?m)^pip==\d`, string(lockText))

	// 2. -o json: {name, version, tags, uri, size}; the same version again.
	b := c.stBuildOK(wd)
	assert.Equal(t, v0, b.Version)
	assert.Equal(t, "hello-build", b.Name)
	assert.Equal(t, []string{"v0", "latest", "first", "second"}, b.Tags)
	assert.Equal(t, "local/project/self/runtime/hello-build/version/"+v0, b.URI)
	assert.Positive(t, b.Size)
	raw := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "runtime", "build", wd).stdout), &raw))
	for _, k := range []string{"name", "version", "tags", "uri", "size"} {
		assert.Contains(t, raw, k)
	}

	// The bundle: OCI manifest of the runtime artifact type, config = runtime
	// manifest, a snapshot layer, a base layer and one layer per distribution.
	info := c.stInfo("hello-build/version/" + v0)
	assert.Equal(t, "application/vnd.starwhale.runtime.v1", info.OCI.ArtifactType)
	assert.Equal(t, "application/vnd.starwhale.runtime.config.v1+json", info.OCI.Config.MediaType)
	assert.Equal(t, "hello-build", info.Manifest.Name)
	assert.Equal(t, "venv", info.Manifest.Mode)
	assert.True(t, strings.HasPrefix(info.Manifest.Python, py.Version+"."), "python %s", info.Manifest.Python)
	assert.Equal(t, "runtime.yaml", info.Manifest.SpecFile)
	assert.Equal(t, []string{"requirements-lock.txt"}, info.Manifest.LockFiles)
	assert.NotEmpty(t, info.Manifest.Spec)
	assert.False(t, info.Manifest.LockOnly)
	roles := map[string]int{}
	pkgLayers := map[string]bool{}
	for _, l := range info.OCI.Layers {
		roles[l.Annotations["org.starwhale.runtime.layer.role"]]++
		if p := l.Annotations["org.starwhale.runtime.layer.package"]; p != "" {
			pkgLayers[p] = true
		}
	}
	assert.Equal(t, "snapshot", info.OCI.Layers[0].Annotations["org.starwhale.runtime.layer.role"])
	assert.Equal(t, 1, roles["snapshot"])
	assert.Equal(t, 1, roles["base"])
	assert.Equal(t, len(info.Lock), roles["package"], "one layer per installed distribution")
	names := map[string]string{}
	for _, p := range info.Lock {
		names[p.Name] = p.Source
		assert.True(t, pkgLayers[p.Name+"=="+p.Version], "layer for %s==%s in %v", p.Name, p.Version, pkgLayers)
		if strings.HasPrefix(p.Name, "tiny-") {
			require.NotEmpty(t, p.Hashes, p.Name)
			assert.True(t, strings.HasPrefix(p.Hashes[0], "sha256:"), p.Hashes[0])
		}
	}
	assert.Equal(t, "wheels/tiny_a-1.0-py3-none-any.whl", names["tiny-a"])
	assert.Equal(t, "wheels/tiny_b-1.0-py3-none-any.whl", names["tiny-b"])
	assert.Contains(t, names, "pip")
	assert.Equal(t, len(info.OCI.Layers), info.Basic.Layers)
	assert.Equal(t, len(info.Lock), info.Basic.Packages)
	yamlText, err := os.ReadFile(filepath.Join(wd, "runtime.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(yamlText), info.RuntimeYAML)
	assert.Equal(t, string(yamlText), c.ok("runtime", "info", "hello-build", "--output-filter", "runtime_yaml").stdout)
	lockOut := c.ok("runtime", "info", "hello-build", "-of", "lock").stdout
	assert.Contains(t, lockOut, "tiny-a")
	basicOut := c.ok("runtime", "info", "hello-build").stdout
	assert.Contains(t, basicOut, v0)
	assert.Contains(t, basicOut, "venv")

	// 3. Reproducible: after touching every file (the environment too) ...
	touchAll(t, wd, time.Now().Add(time.Hour))
	assert.Equal(t, v0, c.stBuildOK(wd).Version, "after touching every file")
	// ... and from a copy of the workdir at another path.
	wd2 := filepath.Join(root, "elsewhere", "copy of wd")
	require.NoError(t, os.MkdirAll(filepath.Dir(wd2), 0o755))
	out, err := exec.Command("cp", "-a", wd, wd2).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, v0, c.stBuildOK(wd2).Version, "from a copy at another path")

	// --project puts it into another project, same version.
	bp := c.stBuildOK(wd, "--project", "team")
	assert.Equal(t, v0, bp.Version)
	assert.Equal(t, "local/project/team/runtime/hello-build/version/"+v0, bp.URI)
	list := stJSON[[]struct {
		Name string `json:"name"`
	}](t, c.ok("-o", "json", "runtime", "list", "--project", "team").stdout)
	require.Len(t, list, 1)
	assert.Equal(t, "hello-build", list[0].Name)

	// --lock-only: the snapshot layer only.
	lo := c.stBuildOK(wd, "--lock-only")
	assert.NotEqual(t, v0, lo.Version)
	assert.Equal(t, []string{"v1", "latest"}, lo.Tags)
	loInfo := c.stInfo("hello-build/version/" + lo.Version)
	assert.True(t, loInfo.Manifest.LockOnly)
	require.Len(t, loInfo.OCI.Layers, 1)
	assert.Equal(t, "snapshot", loInfo.OCI.Layers[0].Annotations["org.starwhale.runtime.layer.role"])
	assert.Equal(t, len(info.Lock), len(loInfo.Lock), "a lock-only bundle still locks everything")

	// A changed requirement gives a new version that shares every layer but
	// the snapshot and the new package's with the old one.
	blobs := len(c.stBlobs())
	_, err = testpy.BuildWheel(filepath.Join(wd, "wheels"), testpy.Wheel{Name: "tiny-c", Version: "1.0"})
	require.NoError(t, err)
	f, err := os.OpenFile(filepath.Join(wd, "requirements.txt"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("wheels/tiny_c-1.0-py3-none-any.whl\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	b2 := c.stBuildOK(wd)
	assert.NotEqual(t, v0, b2.Version)
	assert.NotEqual(t, lo.Version, b2.Version)
	assert.Equal(t, []string{"v2", "latest"}, b2.Tags)
	assert.Equal(t, len(info.OCI.Layers)+1, b2.Layers)
	added := len(c.stBlobs()) - blobs
	// snapshot + tiny-c layer + config + manifest.
	assert.LessOrEqual(t, added, 4, "blobs added by a version that changes one package (of %d layers)", b2.Layers)
	assert.Equal(t, b2.Version, c.stBuildOK(wd).Version, "unchanged again")

	// -f: another runtime.yaml of the workdir.
	write(t, filepath.Join(wd, "conf", "other.yaml"), "mode: venv\nname: hello-other\npython_version: \""+py.Version+"\"\npip_req: requirements.txt\n")
	bo := c.stBuildOK(wd, "-f", "conf/other.yaml", "--lock-only")
	assert.Equal(t, "hello-other", bo.Name)
	oi := c.stInfo("hello-other")
	assert.Equal(t, "conf/other.yaml", oi.Manifest.SpecFile)
	assert.Contains(t, oi.RuntimeYAML, "hello-other")
}

func TestBuildBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	root := t.TempDir()
	empty := filepath.Join(root, "empty")
	require.NoError(t, os.MkdirAll(empty, 0o755))
	noDep := filepath.Join(root, "nodep")
	write(t, filepath.Join(noDep, "runtime.yaml"), "mode: venv\nname: nodep\npip_req: missing.txt\npython_version: \"3.11\"\n")
	noDep2 := filepath.Join(root, "nodep2")
	write(t, filepath.Join(noDep2, "runtime.yaml"), "name: nodep2\npython_version: \"3.11\"\ndependencies:\n  - nothere/reqs.txt\n")
	good := filepath.Join(root, "good")
	write(t, filepath.Join(good, "runtime.yaml"), "name: good\npython_version: \"3.11\"\n")
	write(t, filepath.Join(good, "requirements.txt"), "")
	write(t, filepath.Join(root, "outside.yaml"), "name: outside\n")
	badKey := filepath.Join(root, "badkey")
	write(t, filepath.Join(badKey, "runtime.yaml"), "name: badkey\npython_version: \"3.11\"\nbogus: 1\n")

	cases := []struct {
		name  string
		wants []string
		args  []string
	}{
		{"missing runtime.yaml", []string{"runtime.yaml"}, []string{empty}},
		{"missing workdir", []string{"does-not-exist"}, []string{filepath.Join(root, "does-not-exist")}},
		{"missing -f file", []string{"nope.yaml"}, []string{good, "-f", "nope.yaml"}},
		{"-f outside the workdir", []string{"outside.yaml"}, []string{good, "-f", "../outside.yaml"}},
		{"missing pip_req", []string{"missing.txt"}, []string{noDep}},
		{"missing dependency file", []string{"nothere/reqs.txt"}, []string{noDep2}},
		{"reserved tag latest", []string{"latest", "reserved"}, []string{good, "-t", "latest"}},
		{"reserved tag vN", []string{"v3", "reserved"}, []string{good, "-t", "ok", "-t", "v3"}},
		{"bad tag", []string{"no/slash"}, []string{good, "-t", "no/slash"}},
		{"unknown key", []string{"runtime.yaml", "bogus"}, []string{badKey}},
		{"bad project", []string{"--project"}, []string{good, "--project", "Bad Name"}},
		{"two workdirs", []string{"WORKDIR"}, []string{good, empty}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			trees := map[string]map[string]string{}
			for _, d := range []string{empty, noDep, noDep2, good, badKey} {
				trees[d] = tree(t, d)
			}
			c.stFailSame(tc.wants, append([]string{"runtime", "build"}, tc.args...)...)
			for d, before := range trees {
				sameTree(t, before, tree(t, d), "workdir "+d)
			}
		})
	}
	assert.Empty(t, c.stBlobs())
}

func TestBuildPipCheckAndEditable(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	wd := stWorkdir(t, filepath.Join(t.TempDir(), "wd"), "checked", py.Version, testpy.Wheel{Name: "tiny-b", Version: "1.0"})
	_, err := testpy.BuildWheel(filepath.Join(wd, "wheels"), testpy.Wheel{Name: "tiny-a", Version: "1.0", Requires: []string{"tiny-b>=2"}})
	require.NoError(t, err)
	first := c.stBuildOK(wd)

	venvPy := filepath.Join(wd, ".starwhale", "venv", "bin", "python")
	pip := func(args ...string) (string, error) {
		cmd := exec.Command(venvPy, append([]string{"-m", "pip"}, args...)...)
		cmd.Dir = wd
		cmd.Env = append(c.env, "PIP_DISABLE_PIP_VERSION_CHECK=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// The environment passed pip check (at create's install, or at that
	// build): the venv mode remembers it with the environment, so the next
	// build of the same environment runs no pip check.
	assert.FileExists(t, filepath.Join(wd, ".starwhale", "state", "venv", "pip-check.json"))

	// A conflict (tiny-a needs tiny-b>=2, tiny-b 1.0 is installed) installed
	// behind swcli's back after that fails the build naming it, every time;
	// the store keeps what it had.
	out, err := pip("install", "--no-index", "--no-deps", "wheels/tiny_a-1.0-py3-none-any.whl")
	require.NoError(t, err, out)
	line := c.stFailSame([]string{"pip check", "tiny-a", "tiny-b"}, "runtime", "build", wd)
	t.Log(line)
	c.stFailSame([]string{"pip check", "tiny-a", "tiny-b"}, "runtime", "build", wd)
	assert.Equal(t, []string{first.Version}, stShorts(c.stHistory("checked")))

	out, err = pip("uninstall", "-y", "tiny-a")
	require.NoError(t, err, out)
	assert.Equal(t, first.Version, c.stBuildOK(wd).Version, "consistent again")

	// An editable install is refused, naming the package. The project
	// builds with an in-tree PEP 660 backend, so pip needs neither the
	// network nor setuptools and wheel.
	proj := filepath.Join(wd, "src", "edpkg")
	write(t, filepath.Join(proj, "pyproject.toml"), "[build-system]\nrequires = []\nbuild-backend = \"edbackend\"\nbackend-path = [\".\"]\n")
	write(t, filepath.Join(proj, "edbackend.py"), fmt.Sprintf(edBackend, "edpkg", "pth"))
	write(t, filepath.Join(proj, "edpkg", "__init__.py"), "X = 1\n")
	out, err = pip("install", "--no-index", "--no-build-isolation", "-e", proj)
	if err != nil {
		t.Skipf("cannot make an editable install offline with Python %s: %s", py.Version, out)
	}
	c.stFailSame([]string{"edpkg", "editable"}, "runtime", "build", wd)
	assert.Equal(t, []string{first.Version}, stShorts(c.stHistory("checked")))
	c.stFailSame([]string{"edpkg", "editable"}, "runtime", "build", wd, "--lock-only")

	// --include-editable packs it as it is now.
	inc := c.stBuildOK(wd, "--include-editable")
	assert.NotEqual(t, first.Version, inc.Version)

	// A VCS install keeps its source and commit in the lock.
	out, err = pip("uninstall", "-y", "edpkg")
	require.NoError(t, err, out)
	repo := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, os.CopyFS(repo, os.DirFS(proj)))
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	commit := git("rev-parse", "HEAD")
	out, err = pip("install", "--no-index", "--no-build-isolation", "git+file://"+repo+"#egg=edpkg")
	if err != nil {
		t.Skipf("cannot install from a local git repository offline: %s", out)
	}
	vb := c.stBuildOK(wd, "--lock-only")
	var src string
	for _, p := range c.stInfo("checked/version/" + vb.Version).Lock {
		if p.Name == "edpkg" {
			src = p.Source
		}
	}
	assert.Equal(t, "git+file://"+repo+"@"+commit, src)
	lockText, err := os.ReadFile(filepath.Join(wd, ".starwhale", "lock", "requirements-lock.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(lockText), "edpkg @ git+file://"+repo+"@"+commit)
}

// build --no-cache makes the environment again with the old one aside: when
// pip fails, the old environment is put back as it was and still runs, as
// with create --force.
func TestBuildNoCachePipFailureKeepsOldEnv(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	wd := t.TempDir()
	write(t, filepath.Join(wd, "requirements.txt"), "")
	c.ok("runtime", "create", "--name", "keep-env", "--python", py.Version, wd)
	failedPipKeepsEnv(t, c, wd, py.Version, "runtime", "build", "--no-cache", wd)
}
