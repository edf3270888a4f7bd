package dockerize

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/dockerize/dockerizetest"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/conda/condamode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
)

func testRuntime(m string) Runtime {
	return Runtime{Name: "mnist", Digest: "sha256:" + strings.Repeat("ab", 32), Short: strings.Repeat("ab", 6),
		Mode: m, Python: "3.11", OS: "linux", Arch: "amd64", SwcliVersion: "0.1.0-dev", StarwhaleVersion: "0.6.2"}
}

// activation asks a real mode for the activation at the image's prefix.
func activation(t *testing.T, m mode.Mode, name string) []mode.EnvVar {
	t.Helper()
	act, err := m.Activation(context.Background(), mode.ActivationRequest{Shell: "sh", Name: "mnist",
		Env: mode.Env{Workdir: EnvDir, Prefix: EnvDir + "/.starwhale/" + name}})
	require.NoError(t, err)
	return act.Vars
}

func testOptions(t *testing.T, dir string, vars []mode.EnvVar, needPython bool) Options {
	t.Helper()
	for _, f := range []string{"swcli", "plugin", "runtime.swrt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("content of "+f), 0o600))
	}
	return Options{Activation: vars, NeedPython: needPython, SwcliVersion: "0.1.0-dev",
		Bundle: filepath.Join(dir, "runtime.swrt"), Swcli: filepath.Join(dir, "swcli"),
		Plugin: filepath.Join(dir, "plugin"), PluginSHA256: strings.Repeat("0", 64)}
}

func TestRenderVariants(t *testing.T) {
	src := t.TempDir()
	venvVars := activation(t, venvmode.New(venvmode.Options{}), "venv")
	condaVars := activation(t, condamode.New(condamode.Options{}), "conda")

	t.Run("venv mode, image from starwhale_version", func(t *testing.T) {
		p, err := Render(testRuntime("venv"), testOptions(t, src, venvVars, true))
		require.NoError(t, err)
		df := string(p.Dockerfile)
		assert.Equal(t, "docker.io/starwhaleai/starwhale:0.6.2-py3.11", p.BaseImage)
		assert.Contains(t, df, "\nFROM docker.io/starwhaleai/starwhale:0.6.2-py3.11\n")
		assert.Contains(t, df, `org.opencontainers.image.title="mnist"`)
		assert.Contains(t, df, `org.opencontainers.image.revision="sha256:abab`)
		assert.Contains(t, df, `io.starwhale.runtime.name="mnist"`)
		assert.Contains(t, df, `io.starwhale.runtime.version="sha256:abab`)
		assert.Contains(t, df, `io.starwhale.swcli.version="0.1.0-dev"`)
		assert.Contains(t, df, "RUN python3.11 -c 'import venv'")
		assert.Contains(t, df, "needs to restore; use a base image with Python 3.11")
		assert.Contains(t, df, "swcli runtime restore /tmp/swcli-bundle/runtime.swrt --target-dir /opt/starwhale/env")
		assert.Contains(t, df, "--mount=type=bind,source=runtime.swrt,target=/tmp/swcli-bundle/runtime.swrt")
		assert.Contains(t, df, "runtime activate /opt/starwhale/env --print --shell sh > /etc/profile.d/swcli-runtime.sh")
		assert.Contains(t, df, `VIRTUAL_ENV="/opt/starwhale/env/.starwhale/venv"`)
		assert.Contains(t, df, `PATH="/opt/starwhale/env/.starwhale/venv/bin:${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"`)
		assert.Contains(t, df, `SW_ACTIVE_RUNTIME="mnist"`)
		var paths []string
		for _, f := range p.Files {
			paths = append(paths, f.Path)
		}
		assert.Equal(t, []string{"Dockerfile", "runtime.swrt", "swcli/bin/plugins.yaml", "swcli/bin/swcli", "swcli/bin/swcli-plugin-venv"}, paths)
		assert.Contains(t, string(p.Files[2].Content), "command: ./swcli-plugin-venv\n    sha256: 0000")
	})
	t.Run("conda mode needs no Python in the base image", func(t *testing.T) {
		p, err := Render(testRuntime("conda"), testOptions(t, src, condaVars, false))
		require.NoError(t, err)
		df := string(p.Dockerfile)
		assert.NotContains(t, df, "import venv")
		assert.Contains(t, df, `CONDA_PREFIX="/opt/starwhale/env/.starwhale/conda"`)
		assert.Contains(t, df, `CONDA_DEFAULT_ENV="mnist"`)
		assert.Contains(t, df, `CONDA_PROMPT_MODIFIER="(mnist) "`)
		assert.Contains(t, df, `PATH="/opt/starwhale/env/.starwhale/conda/bin:${PATH:-`)
		assert.Contains(t, df, `io.starwhale.runtime.mode="conda"`)
		assert.Equal(t, "swcli/bin/swcli-plugin-conda", p.Files[4].Path)
	})
	t.Run("CUDA and cuDNN in the derived image", func(t *testing.T) {
		rt := testRuntime("venv")
		rt.CUDA, rt.CUDNN = "12.4", "9.1"
		o := testOptions(t, src, venvVars, true)
		o.ImageRepo = "registry.local:5000/team/"
		p, err := Render(rt, o)
		require.NoError(t, err)
		assert.Equal(t, "registry.local:5000/team/starwhale:0.6.2-py3.11-cuda12.4-cudnn9", p.BaseImage)
		rt.CUDNN = ""
		p, err = Render(rt, o)
		require.NoError(t, err)
		assert.Equal(t, "registry.local:5000/team/starwhale:0.6.2-py3.11-cuda12.4", p.BaseImage)
	})
	t.Run("no starwhale_version: the swcli version that built it", func(t *testing.T) {
		rt := testRuntime("venv")
		rt.StarwhaleVersion, rt.SwcliVersion = "", "0.7.0+local"
		p, err := Render(rt, testOptions(t, src, venvVars, true))
		require.NoError(t, err)
		assert.Equal(t, "docker.io/starwhaleai/starwhale:0.7.0-local-py3.11", p.BaseImage)
	})
	t.Run("custom image", func(t *testing.T) {
		rt := testRuntime("venv")
		rt.DockerImage = "ghcr.io/me/py:3.11-slim"
		rt.CUDA = "10.0" // the user's image: no CUDA check
		p, err := Render(rt, testOptions(t, src, venvVars, true))
		require.NoError(t, err)
		assert.Contains(t, string(p.Dockerfile), "\nFROM ghcr.io/me/py:3.11-slim\n")
		assert.Contains(t, string(p.Dockerfile), `org.opencontainers.image.base.name="ghcr.io/me/py:3.11-slim"`)
		o := testOptions(t, src, venvVars, true)
		o.BaseImage = "localhost/base@sha256:" + strings.Repeat("1", 64)
		p, err = Render(rt, o)
		require.NoError(t, err)
		assert.Equal(t, o.BaseImage, p.BaseImage, "--base-image wins over environment.docker.image")
	})
}

func TestRenderQuoting(t *testing.T) {
	src := t.TempDir()
	vars := []mode.EnvVar{{Name: "A", Value: `x "y" $z \w`}, {Name: "LD_LIBRARY_PATH", Value: "/p/lib:${LD_LIBRARY_PATH}"}}
	p, err := Render(testRuntime("venv"), testOptions(t, src, vars, true))
	require.NoError(t, err)
	assert.Contains(t, string(p.Dockerfile), `A="x \"y\" \$z \\w"`)
	assert.Contains(t, string(p.Dockerfile), `LD_LIBRARY_PATH="/p/lib:${LD_LIBRARY_PATH}"`)
}

func treeBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	tr, err := dockerizetest.Tree(dir)
	require.NoError(t, err)
	return tr
}

func TestRenderReproducible(t *testing.T) {
	src := t.TempDir()
	vars := activation(t, venvmode.New(venvmode.Options{}), "venv")
	o := testOptions(t, src, vars, true)
	p1, err := Render(testRuntime("venv"), o)
	require.NoError(t, err)
	p2, err := Render(testRuntime("venv"), o)
	require.NoError(t, err)
	assert.Equal(t, p1, p2)

	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, WriteContext(p1, a))
	require.NoError(t, WriteContext(p2, b))
	ta, tb := treeBytes(t, a), treeBytes(t, b)
	assert.Equal(t, ta, tb)
	assert.Len(t, ta, 8, "5 files, ., swcli/ and swcli/bin/: %v", ta)
	df, err := os.ReadFile(filepath.Join(a, "Dockerfile"))
	require.NoError(t, err)
	assert.Equal(t, p1.Dockerfile, df)
	st, err := os.Stat(filepath.Join(a, "swcli", "bin", "swcli"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), st.Mode().Perm())
	assert.Equal(t, contextTime, st.ModTime().UTC())

	// Written again over itself: the same folder.
	require.NoError(t, WriteContext(p1, a))
	assert.Equal(t, ta, treeBytes(t, a))
}

func TestRenderBadInput(t *testing.T) {
	src := t.TempDir()
	o := testOptions(t, src, nil, true)
	for _, c := range []struct {
		name       string
		edit       func(*Runtime, *Options)
		want       string
		cudaError  bool
		imageError bool
	}{
		{"unsupported CUDA", func(r *Runtime, _ *Options) { r.CUDA = "10.2" }, "cuda 10.2 has no base image; supported: 11.7 (cudnn 8)", true, false},
		{"unsupported cuDNN", func(r *Runtime, _ *Options) { r.CUDA, r.CUDNN = "12.8", "8" }, "cuda 12.8 with cudnn 8 has no base image", true, false},
		{"cuDNN without CUDA", func(r *Runtime, _ *Options) { r.CUDNN = "8" }, "cudnn 8 without cuda has no base image", true, false},
		{"bad base image", func(_ *Runtime, o *Options) { o.BaseImage = "Bad Image:x" }, `--base-image "Bad Image:x" is not a valid image name`, false, true},
		{"bad docker.image", func(r *Runtime, _ *Options) { r.DockerImage = "repo:tag:more" }, `environment.docker.image "repo:tag:more" is not a valid image name`, false, true},
		{"bad image repo", func(_ *Runtime, o *Options) { o.ImageRepo = "UPPER/Case" }, `the derived base image "UPPER/Case/starwhale:0.6.2-py3.11"`, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, oo := testRuntime("venv"), o
			c.edit(&rt, &oo)
			_, err := Render(rt, oo)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n")
			var ce *CUDAError
			var ie *ImageNameError
			assert.Equal(t, c.cudaError, errors.As(err, &ce))
			assert.Equal(t, c.imageError, errors.As(err, &ie))
		})
	}
	for _, tag := range []string{"UPPER/x:1", "x:bad tag", "x@sha256:" + strings.Repeat("a", 64), "x:"} {
		err := checkTag("-t", tag)
		var ie *ImageNameError
		assert.True(t, errors.As(err, &ie), "%q: %v", tag, err)
	}
	assert.NoError(t, checkTag("-t", "registry.local:5000/team/mnist:v1"))
	assert.NoError(t, checkTag("-t", "mnist"))
}

func TestCheckPlatform(t *testing.T) {
	assert.NoError(t, checkPlatform("linux/amd64", "mnist", "linux/amd64", "linux/amd64"))
	assert.NoError(t, checkPlatform("linux/arm64/v8", "mnist", "linux/arm64", "linux/arm64"))
	err := checkPlatform("linux/arm64", "mnist", "linux/amd64", "linux/amd64")
	assert.EqualError(t, err, "--platform linux/arm64 does not fit runtime mnist, built for linux/amd64: its environment layers run only there; use --platform linux/amd64, or build the runtime on a linux/arm64 machine")
	err = checkPlatform("linux/arm64", "mnist", "linux/arm64", "linux/amd64")
	assert.Contains(t, err.Error(), "this swcli is built for linux/amd64")
	for _, p := range []string{"amd64", "linux/", "a/b/c/d", "/amd64"} {
		err := checkPlatform(p, "mnist", "linux/amd64", "linux/amd64")
		assert.Contains(t, err.Error(), "is not a platform; allowed: OS/ARCH", p)
	}
}

func TestReason(t *testing.T) {
	podman := "STEP 3/6: RUN python3.11 -c 'import venv' >/dev/null 2>&1 || { echo 'swcli: base image x has no Python 3.11' >&2; exit 1; }\n" +
		"swcli: base image x has no Python 3.11 (python3.11 ...)\n" +
		"Error: building at STEP \"RUN python3.11\": exit status 1\n"
	assert.Equal(t, "base image x has no Python 3.11 (python3.11 ...)", reason([]byte(podman)))
	buildkit := "#7 [3/6] RUN python3.11 -c 'import venv' || { echo 'swcli: no' >&2; }\n#7 0.152 swcli: base image y has no Python 3.11\n#7 ERROR: process did not complete\n"
	assert.Equal(t, "base image y has no Python 3.11", reason([]byte(buildkit)))
	other := "STEP 1/6: FROM nope\nError: creating build container: initializing source docker://nope:latest: reading manifest\n\n"
	assert.Equal(t, "Error: creating build container: initializing source docker://nope:latest: reading manifest", reason([]byte(other)))
}

func TestDetectNoEngine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	e, err := Detect(context.Background())
	assert.NoError(t, err)
	assert.Nil(t, e)
	err = &NoEngineError{ContextDir: "/tmp/ctx"}
	assert.Equal(t, "no container engine: no Docker engine answers `docker info` and podman is not on PATH; the Dockerfile and context are in /tmp/ctx: build them on a machine with one, e.g. `docker buildx build -t IMAGE /tmp/ctx` or `podman build -t IMAGE /tmp/ctx`", err.Error())
}

func TestImageRepoFrom(t *testing.T) {
	t.Setenv(BaseImageRepoEnv, "")
	assert.Equal(t, "", ImageRepoFrom(nil))
	assert.Equal(t, "reg.local/team", ImageRepoFrom(&instance.Config{ImageRepo: "reg.local/team"}))
	t.Setenv(BaseImageRepoEnv, "env.local/x")
	assert.Equal(t, "env.local/x", ImageRepoFrom(&instance.Config{ImageRepo: "reg.local/team"}))
}
