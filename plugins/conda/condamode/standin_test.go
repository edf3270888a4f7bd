package condamode

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestStandinCreateInstallLock runs create → install → lock → files →
// restore against the stand-in for two Python versions and checks the conda
// commands the mode ran.
func TestStandinCreateInstallLock(t *testing.T) {
	for _, xy := range []string{"3.9", "3.12"} {
		t.Run("python"+xy, func(t *testing.T) {
			py := testpy.RequirePython(t, xy)
			m, calls := standin(t)
			ctx := ctxT(t)
			root := t.TempDir()
			wd := filepath.Join(root, "workdir")
			wheels := filepath.Join(wd, "wheels")
			demo := buildWheel(t, wheels, testpy.Wheel{Name: "demo-pkg", Version: "1.0",
				ConsoleScripts: map[string]string{"demo-cli": "demo_pkg:main"}})
			buildWheel(t, wheels, testpy.Wheel{Name: "other-pkg", Version: "2.0"})
			buildWheel(t, filepath.Join(root, "index"), testpy.Wheel{Name: "third-pkg", Version: "3.0"})
			writeFile(t, filepath.Join(wd, "environment.yaml"),
				"name: demo\ndependencies:\n  - zlib\n  - pip:\n    - ./wheels/"+filepath.Base(filepath.Join(wheels, "other_pkg-2.0-py3-none-any.whl"))+"\n")
			writeFile(t, filepath.Join(wd, "data", "hello.txt"), "hello\n")

			env := mode.Env{
				Workdir: wd,
				Prefix:  filepath.Join(root, "prefix"),
				Python:  mode.Python{Version: xy},
				Pip:     mode.PipConfig{NoIndex: true, FindLinks: []string{filepath.Join(root, "index")}},
				Conda:   mode.CondaConfig{Channels: []string{"conda-forge"}},
			}
			rec := &recorder{}
			require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, rec.ev()))
			c := calls()
			require.Len(t, c, 1, "one create")
			assert.Equal(t, []string{"create", "-y", "-p", env.Prefix, "-c", "conda-forge", "--override-channels", "--json", "python=" + xy}, c[0].Argv)
			assert.Contains(t, rec.logs(), "linked python-"+py.Patch)
			assert.FileExists(t, filepath.Join(env.Prefix, "bin", "python"))

			rec = &recorder{}
			deps := []mode.Dependency{
				{Kind: mode.DepConda, Packages: []string{"libfoo"}},
				{Kind: mode.DepWheel, Packages: []string{"wheels/" + filepath.Base(demo)}},
				{Kind: mode.DepCondaEnv, Path: "environment.yaml"},
				{Kind: mode.DepPip, Packages: []string{"third-pkg==3.0"}},
				{Kind: mode.DepFile, Src: "data/hello.txt", Dest: "share/demo/hello.txt"},
				{Kind: mode.DepCommand, Command: `echo "$LIBFOO_HOME" > "$CONDA_PREFIX/marker.txt"; python -c "import demo_pkg"`},
			}
			require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: deps}, rec.ev()), rec.logs())
			c = calls()[1:]
			var sub []string
			for _, x := range c {
				sub = append(sub, subcommand(x))
			}
			require.Equal(t, []string{"install", "env update"}, sub, "conda runs for the conda and conda_env dependencies only")
			assert.Equal(t, []string{"install", "-y", "-p", env.Prefix, "-c", "conda-forge", "--override-channels", "--json", "libfoo"}, c[0].Argv)
			assert.Equal(t, []string{"env", "update", "-p", env.Prefix, "-f", filepath.Join(wd, "environment.yaml")}, c[1].Argv)
			prog := rec.progress("install")
			require.Len(t, prog, len(deps)+1)
			assert.Equal(t, int64(len(deps)), prog[len(prog)-1].Current)
			assert.Contains(t, rec.logs(), "Successfully installed demo-pkg-1.0", "pip output is streamed")
			b, err := os.ReadFile(filepath.Join(env.Prefix, "marker.txt"))
			require.NoError(t, err)
			assert.Equal(t, env.Prefix+"\n", string(b), "command ran with activate.d scripts sourced")
			assert.FileExists(t, filepath.Join(env.Prefix, "share", "demo", "hello.txt"))

			// Lock.
			before := len(calls())
			lock, err := m.Lock(ctx, mode.LockRequest{Env: env}, nil)
			require.NoError(t, err)
			assert.Len(t, calls(), before, "Lock reads conda-meta and runs no conda")
			// The explicit spec is the one conda prints for the prefix.
			out, err := exec.Command(os.Getenv(EnvCondaExe), "list", "-p", env.Prefix, "--explicit", "--md5").Output()
			require.NoError(t, err)
			_, condaURLs := normalizeExplicit(string(out))
			_, ourURLs := normalizeExplicit(string(lock.Files[0].Content))
			assert.ElementsMatch(t, condaURLs, ourURLs)
			assert.Equal(t, py.Patch, lock.Python)
			condaPkgs := pkgNames(lock.Packages, mode.InstallerConda)
			assert.Contains(t, condaPkgs, "python=="+py.Patch)
			assert.Contains(t, condaPkgs, "libfoo==1.0.0")
			assert.Contains(t, condaPkgs, "zlib==1.2.13")
			assert.Contains(t, strings.Join(condaPkgs, " "), "pip==", "pip came with conda's python")
			assert.ElementsMatch(t, []string{"demo-pkg==1.0", "other-pkg==2.0", "third-pkg==3.0"}, pkgNames(lock.Packages, mode.InstallerPip))
			libfoo, _ := findPkg(lock.Packages, "libfoo")
			assert.Equal(t, "https://conda.anaconda.org/conda-forge/linux-64/libfoo-1.0.0-h1234567_0.conda", libfoo.Source)
			require.Len(t, libfoo.Hashes, 1)
			assert.Regexp(t, `^md5:[0-9a-f]{32}$`, libfoo.Hashes[0])
			d, _ := findPkg(lock.Packages, "demo-pkg")
			assert.Equal(t, "wheels/demo_pkg-1.0-py3-none-any.whl", d.Source, "local wheel kept, workdir-relative")
			o, _ := findPkg(lock.Packages, "other-pkg")
			assert.Equal(t, "wheels/other_pkg-2.0-py3-none-any.whl", o.Source, "wheel from the env file's pip: section kept")
			th, _ := findPkg(lock.Packages, "third-pkg")
			assert.Equal(t, "", th.Source, "index install")
			require.Len(t, lock.Files, 2)
			assert.Equal(t, CondaLockFile, lock.Files[0].Name)
			explicit := string(lock.Files[0].Content)
			assert.Contains(t, explicit, "@EXPLICIT\n")
			assert.Regexp(t, `(?m)^https://conda.anaconda.org/conda-forge/linux-64/libfoo-1.0.0-h1234567_0.conda#[0-9a-f]{32}$`, explicit)
			assert.NotContains(t, explicit, "created-by", "lock does not depend on the conda version")
			assert.Equal(t, PipLockFile, lock.Files[1].Name)
			pipLock := string(lock.Files[1].Content)
			assert.Regexp(t, `(?m)^\./wheels/demo_pkg-1\.0-py3-none-any\.whl( +# sha256:[0-9a-f]{64})?$`, pipLock)
			for _, h := range d.Hashes {
				assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, h, "pip's archive hash, when pip records one")
			}
			assert.Contains(t, pipLock, "third-pkg==3.0\n")
			assert.NotContains(t, pipLock, root, "no absolute path of this machine")

			// Files.
			files, err := m.Files(ctx, mode.FilesRequest{Env: env})
			require.NoError(t, err)
			assert.Equal(t, py.Patch, files.Python)
			assert.Equal(t, "linux-x86_64", files.Platform)
			assert.Equal(t, "cp"+strings.ReplaceAll(xy, ".", ""), files.ABI)
			lf, ok := filesOf(files, "libfoo")
			require.True(t, ok)
			assert.Equal(t, mode.InstallerConda, lf.Installer)
			assert.Contains(t, lf.Files, "lib/libfoo.so")
			assert.Contains(t, lf.Files, "etc/conda/activate.d/libfoo.sh")
			assert.Contains(t, lf.Files, "conda-meta/libfoo-1.0.0-h1234567_0.json")
			df, ok := filesOf(files, "demo-pkg")
			require.True(t, ok)
			assert.Equal(t, mode.InstallerPip, df.Installer)
			assert.Contains(t, df.Files, "bin/demo-cli")
			assert.Contains(t, df.Files, "lib/python"+xy+"/site-packages/demo_pkg/__init__.py")
			seen := map[string]string{}
			for _, p := range files.Packages {
				for _, f := range p.Files {
					assert.NotContains(t, f, "__pycache__")
					if prev, dup := seen[f]; dup {
						t.Errorf("%s owned by %s and %s", f, prev, p.Name)
					}
					seen[f] = p.Name
				}
			}
			pipf, ok := filesOf(files, "pip")
			require.True(t, ok)
			assert.Equal(t, mode.InstallerConda, pipf.Installer, "pip's dist-info is conda-owned, not listed twice")
			assert.NotEmpty(t, files.Exclude)
			for _, e := range files.Exclude {
				assert.True(t, strings.HasSuffix(e, "__pycache__/"), e)
			}
			_, hasHistory := seen["conda-meta/history"]
			assert.False(t, hasHistory, "history belongs to the base layer")

			// Restore from the lock, offline, with the wheel folder.
			env2 := env
			env2.Prefix = filepath.Join(root, "restored")
			rec = &recorder{}
			require.NoError(t, m.Restore(ctx, mode.RestoreRequest{Env: env2, Lock: lock,
				WheelDirs: []string{filepath.Join(root, "index")}}, rec.ev()), rec.logs())
			create := calls()[len(calls())-1]
			require.Equal(t, []string{"create", "-y", "-p", env2.Prefix, "--json", "--file"}, create.Argv[:6])
			lock2, err := m.Lock(ctx, mode.LockRequest{Env: env2}, nil)
			require.NoError(t, err)
			assert.Equal(t, lock.Packages, lock2.Packages)
			assert.Equal(t, lock.Files, lock2.Files)
			out, err = exec.Command(filepath.Join(env2.Prefix, "bin", "demo-cli")).CombinedOutput()
			require.NoError(t, err, string(out))
			assert.Contains(t, string(out), "demo-pkg 1.0")
		})
	}
}

// TestStandinCondarc: configs.conda.condarc is written to a file that CONDARC
// names; without channels, conda's own channel configuration applies.
func TestStandinCondarc(t *testing.T) {
	testpy.RequirePython(t, "3.11")
	m, calls := standin(t)
	root := t.TempDir()
	env := mode.Env{Workdir: root, Prefix: filepath.Join(root, "p"), Python: mode.Python{Version: "3.11"},
		Conda: mode.CondaConfig{Condarc: "channels:\n  - https://mirror.example/conda/mychan\n"}}
	require.NoError(t, m.Create(ctxT(t), mode.CreateRequest{Env: env}, nil))
	c := calls()[0]
	assert.NotContains(t, c.Argv, "--override-channels")
	assert.NotContains(t, c.Argv, "-c")
	require.NotEmpty(t, c.Condarc)
	_, err := os.Stat(c.Condarc)
	assert.True(t, os.IsNotExist(err), "the temporary condarc is removed")
	lock, err := m.Lock(ctxT(t), mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	py, _ := findPkg(lock.Packages, "python")
	assert.True(t, strings.HasPrefix(py.Source, "https://mirror.example/conda/mychan/linux-64/python-3.11."), py.Source)
}

// TestStandinErrors covers every bad input: no tool, unsolvable spec,
// unreachable channel, malformed env file, half-made prefix, pip failure.
func TestStandinErrors(t *testing.T) {
	testpy.RequirePython(t, "3.10")
	ctx := ctxT(t)

	t.Run("no conda", func(t *testing.T) {
		t.Setenv(EnvCondaExe, "")
		t.Setenv("PATH", t.TempDir())
		m := New(Options{})
		root := t.TempDir()
		err := m.Create(ctx, mode.CreateRequest{Env: mode.Env{Prefix: filepath.Join(root, "p"), Python: mode.Python{Version: "3.10"}}}, nil)
		me := modeErr(t, err, mode.ErrNoTool)
		assert.Equal(t, "conda mode needs conda, mamba or micromamba on PATH, or SW_CONDA_EXE", me.Message)
		assert.NoDirExists(t, filepath.Join(root, "p"))
		rep, err := m.Doctor(ctx, mode.DoctorRequest{})
		require.NoError(t, err)
		require.Len(t, rep.Tools, 1)
		assert.False(t, rep.Tools[0].OK)
		assert.Equal(t, me.Message, rep.Tools[0].Message)
	})

	t.Run("SW_CONDA_EXE not executable", func(t *testing.T) {
		t.Setenv(EnvCondaExe, "/nonexistent/conda")
		_, err := New(Options{}).Lock(ctx, mode.LockRequest{Env: mode.Env{Prefix: "/x"}}, nil)
		require.Error(t, err)
		err = New(Options{}).Create(ctx, mode.CreateRequest{Env: mode.Env{Prefix: filepath.Join(t.TempDir(), "p"), Python: mode.Python{Version: "3.10"}}}, nil)
		me := modeErr(t, err, mode.ErrNoTool)
		assert.Contains(t, me.Message, "SW_CONDA_EXE=/nonexistent/conda")
	})

	m, calls := standin(t)
	root := t.TempDir()
	env := mode.Env{Workdir: root, Prefix: filepath.Join(root, "env"), Python: mode.Python{Version: "3.10"}}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))

	t.Run("unsolvable spec", func(t *testing.T) {
		err := m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
			{Kind: mode.DepConda, Packages: []string{"zlib", "nosuchpkg>=9"}}}}, nil)
		me := modeErr(t, err, mode.ErrToolFailed)
		assert.Contains(t, me.Message, "PackagesNotFoundError: The following packages are not available from current channels:")
		assert.Contains(t, me.Message, "- nosuchpkg>=9")
		assert.NotContains(t, me.Message, "anaconda.org", "one paragraph, not conda's whole advice")
	})

	t.Run("unsolvable python", func(t *testing.T) {
		p := filepath.Join(root, "nopy")
		err := m.Create(ctx, mode.CreateRequest{Env: mode.Env{Prefix: p, Python: mode.Python{Version: "3.99"}}}, nil)
		me := modeErr(t, err, mode.ErrNoTool)
		assert.Equal(t, "python 3.99 is not available from the configured conda channels: conda create failed: PackagesNotFoundError: The following packages are not available from current channels: - python=3.99", me.Message)
		assert.NoDirExists(t, p)
	})

	t.Run("unreachable channel", func(t *testing.T) {
		p := filepath.Join(root, "unreachable")
		err := m.Create(ctx, mode.CreateRequest{Env: mode.Env{Prefix: p, Python: mode.Python{Version: "3.10"},
			Conda: mode.CondaConfig{Channels: []string{"http://127.0.0.1:1/"}}}}, nil)
		me := modeErr(t, err, mode.ErrToolFailed)
		assert.Contains(t, me.Message, "CondaHTTPError: HTTP 000 CONNECTION FAILED for url <http://127.0.0.1:1/linux-64/repodata.json>")
		assert.NoDirExists(t, p)
	})

	t.Run("no half-made prefix", func(t *testing.T) {
		// conda's create_default_packages adds a package whose link fails after
		// python was linked: conda leaves the prefix behind, the mode does not.
		p := filepath.Join(root, "half")
		err := m.Create(ctx, mode.CreateRequest{Env: mode.Env{Prefix: p, Python: mode.Python{Version: "3.10"},
			Conda: mode.CondaConfig{Condarc: "create_default_packages:\n  - brokenpkg\n"}}}, nil)
		me := modeErr(t, err, mode.ErrToolFailed)
		assert.Contains(t, me.Message, "LinkError: post-link script failed for package")
		assert.NoDirExists(t, p)

		// An empty prefix that existed stays, empty.
		empty := filepath.Join(root, "empty")
		require.NoError(t, os.Mkdir(empty, 0o755))
		err = m.Create(ctx, mode.CreateRequest{Env: mode.Env{Prefix: empty, Python: mode.Python{Version: "3.10"},
			Conda: mode.CondaConfig{Condarc: "create_default_packages: [brokenpkg]\n"}}}, nil)
		modeErr(t, err, mode.ErrToolFailed)
		es, err := os.ReadDir(empty)
		require.NoError(t, err)
		assert.Empty(t, es)
	})

	t.Run("non-empty prefix", func(t *testing.T) {
		err := m.Create(ctx, mode.CreateRequest{Env: env}, nil)
		me := modeErr(t, err, mode.ErrInvalid)
		assert.Contains(t, me.Message, "not empty")
		assert.FileExists(t, filepath.Join(env.Prefix, "bin", "python"), "nothing removed")
	})

	t.Run("malformed conda env file", func(t *testing.T) {
		before := len(calls())
		writeFile(t, filepath.Join(root, "bad.yaml"), "name: x\ndependencies:\n  - zlib\n  - pip: [a, b\n")
		err := m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
			{Kind: mode.DepConda, Packages: []string{"zlib"}},
			{Kind: mode.DepCondaEnv, Path: "bad.yaml"}}}, nil)
		me := modeErr(t, err, mode.ErrInvalid)
		assert.Equal(t, "conda env file bad.yaml: line 4: did not find expected ',' or ']'", me.Message)
		assert.Len(t, calls(), before, "nothing ran: the file is checked before any install")

		writeFile(t, filepath.Join(root, "list.yml"), "# comment\n- zlib\n- libfoo\n")
		err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCondaEnv, Path: "list.yml"}}}, nil)
		me = modeErr(t, err, mode.ErrInvalid)
		assert.Equal(t, "conda env file list.yml: line 2: a conda env file is a YAML mapping (name, channels, dependencies), not a list", me.Message)

		writeFile(t, filepath.Join(root, "deps.yml"), "name: x\ndependencies: zlib\n")
		err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCondaEnv, Path: "deps.yml"}}}, nil)
		me = modeErr(t, err, mode.ErrInvalid)
		assert.Equal(t, "conda env file deps.yml: line 2: dependencies must be a list, not a scalar", me.Message)

		writeFile(t, filepath.Join(root, "tab.yml"), "name: x\ndependencies:\n  - zlib\n\t- tab\n")
		err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCondaEnv, Path: "tab.yml"}}}, nil)
		me = modeErr(t, err, mode.ErrInvalid)
		assert.Equal(t, "conda env file tab.yml: line 4: found a tab character that violates indentation", me.Message)

		err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCondaEnv, Path: "missing.yaml"}}}, nil)
		modeErr(t, err, mode.ErrInvalid)
	})

	t.Run("pip failure", func(t *testing.T) {
		e := env
		e.Pip = mode.PipConfig{NoIndex: true}
		err := m.Install(ctx, mode.InstallRequest{Env: e, Dependencies: []mode.Dependency{{Kind: mode.DepPip, Packages: []string{"nosuch-wheel==1.0"}}}}, nil)
		me := modeErr(t, err, mode.ErrToolFailed)
		assert.Contains(t, me.Message, "pip install failed: ERROR: ")
		assert.Contains(t, me.Message, "nosuch-wheel")
	})

	t.Run("unknown dependency kind", func(t *testing.T) {
		err := m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: "npm"}}}, nil)
		modeErr(t, err, mode.ErrInvalid)
	})
}

// TestStandinDoctor reports the tool and its version.
func TestStandinDoctor(t *testing.T) {
	m, calls := standin(t)
	rep, err := m.Doctor(ctxT(t), mode.DoctorRequest{Python: mode.Python{Version: "3.9"}})
	require.NoError(t, err)
	require.NotEmpty(t, rep.Tools)
	assert.True(t, rep.Tools[0].OK)
	assert.Equal(t, "conda", rep.Tools[0].Name)
	assert.Equal(t, "conda 24.1.0 (stand-in)", rep.Tools[0].Version)
	assert.Equal(t, os.Getenv(EnvCondaExe), rep.Tools[0].Path)
	assert.Equal(t, [][]string{{"--version"}}, [][]string{calls()[0].Argv})
	info, err := m.Info(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "conda", info.Name)
	assert.Equal(t, "mode", info.Kind)
	assert.Equal(t, mode.Capabilities{Relocate: true, SelfContained: true, IncludeEditable: true}, info.Capabilities)
}

// TestDiscoveryOrder: conda before mamba before micromamba on PATH; the
// dialect follows the tool.
func TestDiscoveryOrder(t *testing.T) {
	exe, err := filepath.Abs("../testdata/conda-standin")
	require.NoError(t, err)
	dir := t.TempDir()
	t.Setenv(EnvCondaExe, "")
	t.Setenv("CONDA_STANDIN_LOG", "")
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	// This test must not find a real conda that may be on PATH after dir; it
	// only checks the order among the names in dir.
	require.NoError(t, os.Symlink(exe, filepath.Join(dir, "micromamba")))
	tl, err := New(Options{}).findTool(ctxT(t))
	require.NoError(t, err)
	if filepath.Dir(tl.path) == dir {
		assert.Equal(t, "micromamba", tl.name)
		assert.Equal(t, flavorMicromamba, tl.flavor)
	}
	require.NoError(t, os.Symlink(exe, filepath.Join(dir, "mamba")))
	tl, err = New(Options{}).findTool(ctxT(t))
	require.NoError(t, err)
	if filepath.Dir(tl.path) == dir {
		assert.Equal(t, "mamba", tl.name)
		assert.Equal(t, flavorConda, tl.flavor, "mamba 1.x prints 'mamba X' / conda's version: conda's CLI")
	}
	require.NoError(t, os.Symlink(exe, filepath.Join(dir, "conda")))
	tl, err = New(Options{}).findTool(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "conda"), tl.path)
	assert.Equal(t, "conda", tl.name)

	// Options.CondaExe and SW_CONDA_EXE win over PATH.
	t.Setenv(EnvCondaExe, filepath.Join(dir, "micromamba"))
	tl, err = New(Options{}).findTool(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "micromamba", tl.name)
	tl, err = New(Options{CondaExe: filepath.Join(dir, "mamba")}).findTool(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "mamba", tl.name)
}
