package main_test

// Dockerize end to end, with a real engine: Debian's podman with runc builds
// the image from a base image made by mmdebstrap (bookworm: Python 3.11), and
// runs it with --network none. The sandbox needs runc and lower ulimits than
// podman's defaults: that is the test's containers.conf (CONTAINERS_CONF),
// never a flag of swcli's.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/dockerize/dockerizetest"
	"github.com/swcli/swcli/sdk/testpy"
)

// podmanEnv points podman at this sandbox's containers.conf, or skips.
func podmanEnv(t *testing.T) []string {
	t.Helper()
	if tool := dockerizetest.Missing(); tool != "" {
		t.Skipf("dockerize e2e needs %s (installed by .ci/deps)", tool)
	}
	env, err := dockerizetest.ContainersConf(t.TempDir())
	require.NoError(t, err)
	return env
}

func podman(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	return dockerizetest.Podman(env, args...)
}

func mustPodman(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := podman(t, env, args...)
	require.NoError(t, err)
	return out
}

// baseImage is the cached bookworm base image with Python 3.11, or skips.
func baseImage(t *testing.T, env []string) string {
	t.Helper()
	img, err := dockerizetest.BaseImage(env)
	if err != nil {
		t.Skipf("no base image: %v", err)
	}
	return img
}

func randomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// dockerizeRuntime builds a venv runtime with Python 3.11: a wheel with a
// console script, and a files: entry.
func dockerizeRuntime(t *testing.T, c *cli, name, extraEnv string) string {
	t.Helper()
	testpy.RequirePython(t, "3.11")
	wd := filepath.Join(t.TempDir(), "wd")
	_, err := testpy.BuildWheel(filepath.Join(wd, "wheels"), testpy.Wheel{Name: "dk-pkg", Version: "1.0",
		ConsoleScripts: map[string]string{"dk-hello": "dk_pkg:main"}})
	require.NoError(t, err)
	write(t, filepath.Join(wd, "requirements.txt"), "--no-index\n--find-links wheels\ndk-pkg==1.0\n")
	write(t, filepath.Join(wd, "conf", "app.cfg"), "answer = 42\n")
	write(t, filepath.Join(wd, "runtime.yaml"), "name: "+name+"\nenvironment:\n  python: \"3.11\"\n"+extraEnv+
		"dependencies:\n  - requirements.txt\n  - files:\n      - {src: conf/app.cfg, dest: etc/dk/app.cfg}\n")
	c.ok("runtime", "build", wd)
	return wd
}

func TestDockerizeE2E(t *testing.T) {
	env := podmanEnv(t)
	base := baseImage(t, env)
	c := newCLI(t)
	c.setenv(env...)
	// A name of this run's own: the cleanup finds every image (and the
	// cached layers of failed builds) by its label.
	rt := randomName("dk-rt-")
	dockerizeRuntime(t, c, rt, "")
	var made []string
	t.Cleanup(func() {
		for _, img := range made {
			_, _ = podman(t, env, "rmi", "-f", img)
		}
		removeImagesOf(t, env, rt)
	})

	t.Run("dry-run prints the Dockerfile", func(t *testing.T) {
		r := c.ok("runtime", "dockerize", rt, "--dry-run")
		assert.Contains(t, r.stdout, "FROM docker.io/starwhaleai/starwhale:0.1.0-dev-py3.11\n")
		assert.Contains(t, r.stdout, "swcli runtime restore")
		c.setenv("SW_IMAGE_REPO=registry.local:5000/base")
		r = c.ok("runtime", "dockerize", rt+"/version/latest", "--dry-run")
		c.setenv("SW_IMAGE_REPO=")
		assert.Contains(t, r.stdout, "FROM registry.local:5000/base/starwhale:0.1.0-dev-py3.11\n")
	})

	t.Run("the context is reproducible", func(t *testing.T) {
		a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		c.ok("runtime", "dockerize", rt, "--dry-run", "--context", a, "--base-image", base)
		c.ok("runtime", "dockerize", rt, "--context", b, "--dry-run", "--base-image", base)
		ta, tb := contentTree(t, a), contentTree(t, b)
		assert.Equal(t, ta, tb)
		assert.Contains(t, ta, "runtime.swrt")
		assert.Contains(t, ta, "swcli/bin/swcli-plugin-venv")
	})

	img := "localhost/" + randomName("swcli-dk-") + ":v1"
	made = append(made, img)
	t.Run("build with podman and run with no network", func(t *testing.T) {
		r := c.ok("runtime", "dockerize", rt, "-t", img, "--base-image", base, "--platform", "linux/amd64")
		assert.Contains(t, r.stdout, "built "+img+" for "+rt)
		assert.Contains(t, r.stdout, "with podman")
		run := func(args ...string) string {
			return strings.TrimSpace(mustPodman(t, env, append([]string{"run", "--rm", "--network", "none", img}, args...)...))
		}
		assert.Equal(t, "/opt/starwhale/env/.starwhale/venv/lib/python3.11/site-packages/dk_pkg/__init__.py",
			run("python", "-c", "import dk_pkg; print(dk_pkg.__file__)"))
		assert.Contains(t, run("dk-hello"), "dk-pkg 1.0")
		assert.Equal(t, "answer = 42", run("cat", "/opt/starwhale/env/.starwhale/venv/etc/dk/app.cfg"))
		envOut := run("env")
		assert.Contains(t, envOut, "VIRTUAL_ENV=/opt/starwhale/env/.starwhale/venv\n")
		assert.Contains(t, envOut, "PATH=/opt/starwhale/env/.starwhale/venv/bin:/usr/local/sbin:")
		assert.Contains(t, envOut, "SW_ACTIVE_RUNTIME="+rt)
		// A login shell (/etc/profile resets PATH) is active too.
		assert.Equal(t, "/opt/starwhale/env/.starwhale/venv/bin/python", run("sh", "-lc", "command -v python"))
		assert.Equal(t, "/opt/starwhale/env/.starwhale/venv", run("sh", "-lc", "python -c 'import sys; print(sys.prefix)'"))
		// The bundle was mounted for the build, not kept.
		assert.Equal(t, "gone", run("sh", "-c", "test -e /tmp/swcli-bundle/runtime.swrt || echo gone"))
		labels := mustPodman(t, env, "inspect", img, "--format", "{{json .Labels}}")
		for _, l := range []string{`"org.opencontainers.image.title":"` + rt + `"`, `"io.starwhale.runtime.name":"` + rt + `"`,
			`"io.starwhale.runtime.version":"sha256:`, `"io.starwhale.swcli.version":"0.1.0-dev"`,
			`"org.opencontainers.image.base.name":"` + base + `"`} {
			assert.Contains(t, labels, l)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		bad := "localhost/" + randomName("swcli-dk-bad-") + ":v1"
		made = append(made, bad)
		c.fail([]string{"--platform linux/arm64 does not fit runtime " + rt + ", built for linux/amd64"},
			"runtime", "dockerize", rt, "-t", bad, "--platform", "linux/arm64", "--base-image", base)
		c.fail([]string{`-t "Bad/Name:x" is not a valid image name`}, "runtime", "dockerize", rt, "-t", "Bad/Name:x")
		c.fail([]string{`--base-image "a b" is not a valid image name`}, "runtime", "dockerize", rt, "--base-image", "a b")

		// A base image without Python 3.11: one line, and nothing tagged.
		noPy := "localhost/" + randomName("swcli-dk-nopy-") + ":v1"
		made = append(made, noPy)
		dir := t.TempDir()
		write(t, filepath.Join(dir, "Dockerfile"), "FROM "+base+"\nRUN rm -f /usr/bin/python3.11 /usr/bin/python3\n")
		mustPodman(t, env, "build", "-t", noPy, dir)
		ctxDir := filepath.Join(t.TempDir(), "ctx")
		line := c.fail([]string{"podman build failed: base image " + noPy + " has no Python 3.11",
			"which runtime " + rt + " (venv mode) needs to restore", "the Dockerfile and context are in " + ctxDir},
			"runtime", "dockerize", rt, "-t", bad, "--base-image", noPy, "--context", ctxDir)
		t.Log(line)
		_, err := podman(t, env, "image", "exists", bad)
		assert.Error(t, err, "nothing half-built is tagged")

		// No engine: the context is kept and named.
		c.setenv("PATH=" + t.TempDir())
		line = c.fail([]string{"no container engine", "the Dockerfile and context are in "}, "runtime", "dockerize", rt, "-t", bad)
		c.setenv("PATH=" + os.Getenv("PATH"))
		kept := strings.TrimSuffix(strings.Fields(strings.SplitN(line, "the Dockerfile and context are in ", 2)[1])[0], ":")
		assert.FileExists(t, filepath.Join(kept, "Dockerfile"))
		assert.FileExists(t, filepath.Join(kept, "runtime.swrt"))
		os.RemoveAll(kept)

		// An unsupported CUDA: refused before anything is written.
		dockerizeRuntime(t, c, "dk-cuda", "  cuda: \"10.2\"\n")
		c.fail([]string{"cuda 10.2 has no base image; supported: 11.7 (cudnn 8)"}, "runtime", "dockerize", "dk-cuda", "--dry-run")
	})

	t.Run("push to a registry, pull back and run", func(t *testing.T) {
		addr := startRegistry(t)
		regConf := filepath.Join(t.TempDir(), "registries.conf")
		write(t, regConf, fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", addr))
		penv := append(append([]string{}, env...), "CONTAINERS_REGISTRIES_CONF="+regConf)
		c.setenv(penv...)
		remote := addr + "/team/" + randomName("dk-") + ":v1"
		made = append(made, remote)
		r := c.ok("runtime", "dockerize", rt, "-t", remote, "--push", "--base-image", base)
		assert.Contains(t, r.stdout, "built and pushed "+remote)
		mustPodman(t, penv, "rmi", remote)
		mustPodman(t, penv, "pull", remote)
		out := mustPodman(t, penv, "run", "--rm", "--network", "none", remote, "dk-hello")
		assert.Contains(t, out, "dk-pkg 1.0")
	})
}

// removeImagesOf removes every image (and the cached layers of failed
// builds) of runtime rt, found by its label.
func removeImagesOf(t *testing.T, env []string, rt string) {
	ids, _ := podman(t, env, "images", "-a", "-q", "--filter", "label=io.starwhale.runtime.name="+rt)
	for _, id := range strings.Fields(ids) {
		_, _ = podman(t, env, "rmi", "-f", id)
	}
}

// contentTree is dockerizetest.Tree, or fails.
func contentTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tr, err := dockerizetest.Tree(dir)
	require.NoError(t, err)
	return tr
}

// startRegistry starts the CNCF distribution registry on 127.0.0.1 (stopped
// by the test) and returns its host:port, or skips.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("registry")
	if err != nil {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, "go", "bin", "registry")
		if _, err := os.Stat(bin); err != nil {
			t.Skip("the CNCF distribution registry is not installed (.ci/deps installs it with go install)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	write(t, conf, fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr))
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	require.NoError(t, err)
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, "serve", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("registry did not listen on %s", addr)
	return ""
}
