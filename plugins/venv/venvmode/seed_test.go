package venvmode_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestSeededPipIsANormalVenv creates venvs with pip seeded from the cache
// (no ensurepip) for every Python 3 here, and uses pip for real: --version,
// python -m pip, pip check, install and uninstall of a wheel, a forced
// reinstall of pip over the linked files, and `pip uninstall pip`. After
// each of those the cache entry must still hash to its manifest: nothing a
// venv does writes into it.
func TestSeededPipIsANormalVenv(t *testing.T) {
	pys := testpy.FindPythons()
	if len(pys) == 0 {
		t.Skip("no Python 3 on this machine")
	}
	wheels := t.TempDir()
	whl, err := testpy.BuildWheel(wheels, testpy.Wheel{Name: "seedprobe", Version: "1.0", ConsoleScripts: map[string]string{"seedprobe": "seedprobe:main"}})
	require.NoError(t, err)
	for _, py := range pys {
		py := py
		t.Run(py.Version, func(t *testing.T) {
			if out, err := exec.Command(py.Path, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
				t.Skipf("python %s has no venv/ensurepip: %s", py, out)
			}
			ctx := context.Background()
			cacheDir := t.TempDir()
			m := newMode()
			mk := func(name string) mode.Env {
				env := mode.Env{Prefix: filepath.Join(t.TempDir(), name), Python: mode.Python{Path: py.Path, Version: py.Version}, CacheDir: cacheDir}
				require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, func(mode.Event) {}))
				return env
			}
			first := mk("a")
			env := mk("b") // from the warm cache
			cache, err := venvmode.SeedCache(env)
			require.NoError(t, err)
			ents, err := cache.Entries()
			require.NoError(t, err)
			require.Len(t, ents, 1, "one seed entry for one interpreter")
			verify := func(what string) {
				t.Helper()
				assert.NoError(t, cache.Verify(ctx, ents[0].Key), "seed cache after %s", what)
			}
			site := sitePackages(t, env.Prefix)
			// The seeded files are links of one cache entry (hardlinks here
			// unless the filesystem clones), except what pip writes per env.
			pipInit := filepath.Join(site, "pip", "__init__.py")
			a, err := os.Stat(filepath.Join(sitePackages(t, first.Prefix), "pip", "__init__.py"))
			require.NoError(t, err)
			b, err := os.Stat(pipInit)
			require.NoError(t, err)
			if os.SameFile(a, b) {
				assert.Zero(t, b.Mode().Perm()&0o222, "a hardlinked cache file is read-only")
			}
			rec, err := filepath.Glob(filepath.Join(site, "pip-*.dist-info", "RECORD"))
			require.NoError(t, err)
			require.Len(t, rec, 1)
			r1, _ := os.Stat(rec[0])
			r0, _ := os.Stat(strings.Replace(rec[0], env.Prefix, first.Prefix, 1))
			assert.False(t, os.SameFile(r0, r1), "RECORD is written per environment")
			recText, _ := os.ReadFile(rec[0])
			assert.Contains(t, string(recText), "bin/pip"+py.Version+",sha256=")

			run := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(args[0], args[1:]...)
				cmd.Env = append(os.Environ(), "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INDEX=1", "PYTHONDONTWRITEBYTECODE=")
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "%v: %s", args, out)
				return string(out)
			}
			bin := func(n string) string { return filepath.Join(env.Prefix, "bin", n) }
			major := strings.Split(py.Version, ".")[0]
			for _, s := range []string{"pip", "pip" + major, "pip" + py.Version} {
				out := run(bin(s), "--version")
				assert.Contains(t, out, filepath.Join(env.Prefix, "lib"), "%s runs the venv's pip", s)
			}
			assert.Contains(t, run(bin("python"), "-m", "pip", "--version"), env.Prefix)
			run(bin("pip"), "check")
			run(bin("pip"), "install", whl)
			assert.Contains(t, run(bin("seedprobe")), "seedprobe 1.0")
			run(bin("pip"), "uninstall", "-y", "seedprobe")
			verify("install/uninstall")

			// Reinstall pip from the very wheel the seed came from, over the
			// linked files: pip must replace them, not write through them.
			bundled := bundledPip(t, py.Path)
			run(bin("pip"), "install", "--force-reinstall", "--no-deps", bundled)
			run(bin("pip"), "--version")
			run(bin("pip"), "check")
			verify("pip install --force-reinstall pip")

			run(bin("python"), "-m", "pip", "uninstall", "-y", "pip")
			_, err = os.Stat(bin("pip"))
			assert.True(t, os.IsNotExist(err), "pip uninstall removed bin/pip")
			_, err = os.Stat(filepath.Join(site, "pip"))
			assert.True(t, os.IsNotExist(err), "pip uninstall removed the pip package")
			verify("pip uninstall pip")
			// The first venv still works.
			run(filepath.Join(first.Prefix, "bin", "pip"), "--version")
		})
	}
}

func sitePackages(t *testing.T, prefix string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(prefix, "lib", "python*", "site-packages"))
	require.NoError(t, err)
	require.Len(t, m, 1)
	return m[0]
}

func bundledPip(t *testing.T, py string) string {
	t.Helper()
	out, err := exec.Command(py, "-c", `import ensurepip, glob, os; print(sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1])`).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func TestRequiresAnything(t *testing.T) {
	for text, want := range map[string]bool{
		"":                                  false,
		"\n# nothing yet\n\n":               false,
		"--no-index\n--find-links wheels\n": false,
		"-i https://x/simple  # mirror\n":   false,
		"numpy==1.0\n":                      true,
		"--find-links w\nrequests\n":        true,
		"-r other.txt\n":                    true,
		"-e ./src\n":                        true,
		"--require-hashes\n":                true,
		"./local.whl\n":                     true,
	} {
		assert.Equal(t, want, venvmode.RequiresAnything([]byte(text)), "%q", text)
	}
}
