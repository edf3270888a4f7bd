package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

func parse(t *testing.T, src string) (*Spec, error) {
	t.Helper()
	return Parse([]byte(src), "runtime.yaml")
}

func TestParseSeedForm(t *testing.T) {
	s, err := parse(t, `mode: conda
name: mnist
pip_req: reqs/dev.txt
python_version: "3.9"
starwhale_version: 0.4.0
`)
	require.NoError(t, err)
	assert.Equal(t, "mnist", s.Name)
	assert.Equal(t, "conda", s.Mode)
	assert.Equal(t, "3.9", s.Python)
	assert.Equal(t, "0.4.0", s.StarwhaleVersion)
	assert.False(t, s.DefaultPipReq)
	assert.Equal(t, []mode.Dependency{{Kind: mode.DepPipReq, Path: "reqs/dev.txt"}}, s.Dependencies)
	assert.Equal(t, "runtime.yaml", s.File())
}

func TestParseDefaults(t *testing.T) {
	s, err := parse(t, "name: mnist\n")
	require.NoError(t, err)
	assert.Equal(t, "venv", s.Mode)
	assert.Equal(t, "3.8", s.Python)
	assert.True(t, s.DefaultPipReq)
	assert.Equal(t, []mode.Dependency{{Kind: mode.DepPipReq, Path: "requirements.txt"}}, s.Dependencies)
	assert.Equal(t, []string{"requirements.txt"}, s.Files())
}

func TestParseExtendedForm(t *testing.T) {
	s, err := parse(t, `api_version: 1.1
name: pytorch
mode: venv
environment:
  python: 3.10
  arch: [amd64, aarch64]
  os: ubuntu:20.04
  cuda: 11.4
  cudnn: 8
  docker:
    image: ghcr.io/star-whale/runtime:latest
dependencies:
  - requirements.txt
  - env/conda.yaml
  - pip:
      - numpy
      - torch==2.0.1
  - conda:
      - cudatoolkit=11.4
  - wheels:
      - wheels/dummy-0.0.0-py3-none-any.whl
  - files:
      - src: scripts/prepare.sh
        dest: bin/prepare.sh
      - src: data
        dest: /opt/data
  - commands:
      - echo hi
      - bash bin/prepare.sh
configs:
  pip:
    index_url: https://pypi.example/simple
    extra_index_url: https://extra.example/simple
    trusted_host: [pypi.example, extra.example]
  conda:
    channels: [conda-forge]
    condarc:
      ssl_verify: false
      always_yes: true
`)
	require.NoError(t, err)
	assert.Equal(t, "1.1", s.APIVersion)
	assert.Equal(t, "3.10", s.Python)
	assert.Equal(t, Environment{Python: "3.10", Arch: []string{"amd64", "arm64"}, OS: "ubuntu:20.04", CUDA: "11.4", CUDNN: "8",
		Docker: Docker{Image: "ghcr.io/star-whale/runtime:latest"}}, s.Environment)
	assert.False(t, s.DefaultPipReq)
	assert.Equal(t, []mode.Dependency{
		{Kind: mode.DepPipReq, Path: "requirements.txt"},
		{Kind: mode.DepCondaEnv, Path: "env/conda.yaml"},
		{Kind: mode.DepPip, Packages: []string{"numpy", "torch==2.0.1"}},
		{Kind: mode.DepConda, Packages: []string{"cudatoolkit=11.4"}},
		{Kind: mode.DepWheel, Packages: []string{"wheels/dummy-0.0.0-py3-none-any.whl"}},
		{Kind: mode.DepFile, Src: "scripts/prepare.sh", Dest: "bin/prepare.sh"},
		{Kind: mode.DepFile, Src: "data", Dest: "/opt/data"},
		{Kind: mode.DepCommand, Command: "echo hi"},
		{Kind: mode.DepCommand, Command: "bash bin/prepare.sh"},
	}, s.Dependencies)
	assert.Equal(t, mode.PipConfig{IndexURL: "https://pypi.example/simple", ExtraIndexURL: []string{"https://extra.example/simple"},
		TrustedHost: []string{"pypi.example", "extra.example"}}, s.Pip)
	assert.Equal(t, []string{"conda-forge"}, s.Conda.Channels)
	assert.Equal(t, "always_yes: true\nssl_verify: false\n", s.Conda.Condarc)
	assert.Equal(t, []string{"requirements.txt", "env/conda.yaml", "wheels/dummy-0.0.0-py3-none-any.whl", "scripts/prepare.sh", "data"}, s.Files())
}

func TestPythonFloatTrap(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"python_version: 3.10", "3.10"},
		{"python_version: '3.10'", "3.10"},
		{"python_version: 3.9", "3.9"},
		{"python_version: 3.1", "3.1"},
		{"python_version: 2.7", "2.7"},
		{"python_version: 3.12", "3.12"},
		{"environment: {python: 3.10}", "3.10"},
		{"python_version: 3.10\nenvironment: {python: '3.10'}", "3.10"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			s, err := parse(t, "name: x\n"+tc.src+"\n")
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Python)
		})
	}
}

func TestUnionForm(t *testing.T) {
	t.Run("explicit pip_req comes first", func(t *testing.T) {
		s, err := parse(t, "name: x\npip_req: base.txt\npython_version: '3.9'\ndependencies:\n  - pip: [numpy]\n")
		require.NoError(t, err)
		assert.False(t, s.DefaultPipReq)
		assert.Equal(t, []mode.Dependency{{Kind: mode.DepPipReq, Path: "base.txt"}, {Kind: mode.DepPip, Packages: []string{"numpy"}}}, s.Dependencies)
	})
	t.Run("dependencies without pip_req has no default", func(t *testing.T) {
		s, err := parse(t, "name: x\npython_version: '3.9'\ndependencies:\n  - pip: [numpy]\n")
		require.NoError(t, err)
		assert.False(t, s.DefaultPipReq)
		assert.Equal(t, []mode.Dependency{{Kind: mode.DepPip, Packages: []string{"numpy"}}}, s.Dependencies)
	})
	t.Run("extended without dependencies gets optional default", func(t *testing.T) {
		s, err := parse(t, "name: x\nenvironment: {python: '3.11'}\n")
		require.NoError(t, err)
		assert.True(t, s.DefaultPipReq)
		assert.Equal(t, "3.11", s.Python)
		assert.Equal(t, []mode.Dependency{{Kind: mode.DepPipReq, Path: "requirements.txt"}}, s.Dependencies)
	})
	t.Run("empty dependencies list", func(t *testing.T) {
		s, err := parse(t, "name: x\ndependencies: []\n")
		require.NoError(t, err)
		assert.False(t, s.DefaultPipReq)
		assert.Equal(t, []mode.Dependency{}, s.Dependencies)
	})
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // the whole Error() line
	}{
		{"empty file", "", `runtime.yaml:1:1: empty file; expected a map with at least name (e.g. name: mnist)`},
		{"only comments", "# nothing\n", `runtime.yaml:1:1: empty file; expected a map with at least name (e.g. name: mnist)`},
		{"null document", "---\n", `runtime.yaml:1:1: empty file; expected a map with at least name (e.g. name: mnist)`},
		{"two documents", "name: x\n---\nname: y\n", `runtime.yaml:2:1: a second YAML document; allowed: one document`},
		{"not a map", "- a\n- b\n", `runtime.yaml:1:1: expected a map of runtime.yaml keys (mode, name, pip_req, python_version, starwhale_version, api_version, environment, dependencies, configs), got a list`},
		{"syntax", "name: x\nmode: [venv\n", `runtime.yaml:2:7: invalid YAML: did not find expected ',' or ']'`},
		{"syntax at end", "name: [x\n", `runtime.yaml:2:1: invalid YAML: did not find expected ',' or ']'`},
		{"syntax mapping", "name: x\nmode: a: b\n", `runtime.yaml:2:7: invalid YAML: mapping values are not allowed in this context`},
		{"syntax tab", "name: x\n\tmode: venv\n", `runtime.yaml:2:1: invalid YAML: found a tab character that violates indentation`},
		{"unknown key", "name: x\nmod: venv\n", `runtime.yaml:2:1: mod: unknown key; allowed: mode, name, pip_req, python_version, starwhale_version, api_version, environment, dependencies, configs`},
		{"duplicate key", "name: x\nname: y\n", `runtime.yaml:2:1: name: given twice (first at line 1); allowed: once`},
		{"merge key", "base: &b {mode: venv}\n", `runtime.yaml:1:1: base: unknown key; allowed: mode, name, pip_req, python_version, starwhale_version, api_version, environment, dependencies, configs`},
		{"merge key 2", "name: x\n<<: {mode: venv}\n", `runtime.yaml:2:1: merge keys (<<) are not supported; allowed keys: mode, name, pip_req, python_version, starwhale_version, api_version, environment, dependencies, configs`},
		{"missing name", "mode: venv\n", `runtime.yaml:1:1: name: missing; a runtime needs a name (e.g. name: mnist); ` + NameRule},
		{"bad mode", "name: x\nmode:   Foo\n", `runtime.yaml:2:9: mode: "Foo" is not a mode; ` + ModeRule},
		{"bad mode path", "name: x\nmode: ../x\n", `runtime.yaml:2:7: mode: "../x" is not a mode; ` + ModeRule},
		{"mode bool", "name: x\nmode: true\n", `runtime.yaml:2:7: mode: expected a string, got a boolean (true)`},
		{"mode null", "name: x\nmode:\n", `runtime.yaml:2:6: mode: expected a string, got no value`},
		{"mode list", "name: x\nmode: [venv]\n", `runtime.yaml:2:7: mode: expected a string, got a list`},
		{"bad name", "name: MNIST\n", `runtime.yaml:1:7: name: "MNIST" is not a valid runtime name; ` + NameRule},
		{"bad name dots", "name: a..b\n", `runtime.yaml:1:7: name: "a..b" is not a valid runtime name; ` + NameRule},
		{"long name", "name: " + strings.Repeat("a", 64) + "\n", `runtime.yaml:1:7: name: runtime name "` + strings.Repeat("a", 64) + `" is 64 characters long; ` + NameRule},
		{"bad python", "name: x\npython_version: 3\n", `runtime.yaml:2:17: python_version: "3" is not a Python version; ` + PythonRule},
		{"bad python patch", "name: x\npython_version: 3.9.1\n", `runtime.yaml:2:17: python_version: "3.9.1" is not a Python version; ` + PythonRule},
		{"bad python 4", "name: x\nenvironment:\n  python: '4.0'\n", `runtime.yaml:3:11: environment.python: "4.0" is not a Python version; ` + PythonRule},
		{"python differs", "name: x\npython_version: '3.9'\nenvironment:\n  python: 3.10\n", `runtime.yaml:4:11: environment.python: "3.10" differs from python_version "3.9" (line 2); allowed: the same version in both, or only one of them`},
		{"env unknown key", "name: x\nenvironment:\n  pyhton: '3.9'\n", `runtime.yaml:3:3: environment.pyhton: unknown key; allowed: python, arch, os, cuda, cudnn, docker`},
		{"env not map", "name: x\nenvironment: linux\n", `runtime.yaml:2:14: environment: expected a map with keys python, arch, os, cuda, cudnn, docker, got a string ("linux")`},
		{"bad arch", "name: x\nenvironment: {arch: [amd64, sparc]}\n", `runtime.yaml:2:29: environment.arch[1]: "sparc" is not an architecture; allowed: noarch, amd64, arm64 (or x86_64, aarch64)`},
		{"bad arch str", "name: x\nenvironment: {arch: sparc}\n", `runtime.yaml:2:21: environment.arch: "sparc" is not an architecture; allowed: noarch, amd64, arm64 (or x86_64, aarch64)`},
		{"docker unknown", "name: x\nenvironment: {docker: {img: x}}\n", `runtime.yaml:2:24: environment.docker.img: unknown key; allowed: image`},
		{"deps not list", "name: x\ndependencies: requirements.txt\n", `runtime.yaml:2:15: dependencies: expected a list, got a string ("requirements.txt")`},
		{"dep unknown file", "name: x\ndependencies:\n  - setup.cfg\n", `runtime.yaml:3:5: dependencies[0]: "setup.cfg" is not a dependency; ` + depShapes},
		{"dep unknown key", "name: x\ndependencies:\n  - npm: [x]\n", `runtime.yaml:3:5: dependencies[0].npm: unknown key; allowed: pip, conda, wheels, files, commands`},
		{"dep two keys", "name: x\ndependencies:\n  - pip: [a]\n    conda: [b]\n", `runtime.yaml:3:5: dependencies[0]: a map with 2 keys is not a dependency; ` + depShapes},
		{"dep empty map", "name: x\ndependencies:\n  - {}\n", `runtime.yaml:3:5: dependencies[0]: a map with 0 keys is not a dependency; ` + depShapes},
		{"dep list", "name: x\ndependencies:\n  - [a]\n", `runtime.yaml:3:5: dependencies[0]: a list is not a dependency; ` + depShapes},
		{"dep number", "name: x\ndependencies:\n  - 3\n", `runtime.yaml:3:5: dependencies[0]: "3" is not a dependency; ` + depShapes},
		{"dep null", "name: x\ndependencies:\n  -\n", `runtime.yaml:3:4: dependencies[0]: no value is not a dependency; ` + depShapes},
		{"abs req", "name: x\ndependencies:\n  - /etc/req.txt\n", `runtime.yaml:3:5: dependencies[0]: "/etc/req.txt" is an absolute path; allowed: a path relative to the workdir, inside it`},
		{"escaping req", "name: x\ndependencies:\n  - a/../../req.txt\n", `runtime.yaml:3:5: dependencies[0]: "a/../../req.txt" leaves the workdir; allowed: a path relative to the workdir, inside it`},
		{"abs pip_req", "name: x\npip_req: /r.txt\n", `runtime.yaml:2:10: pip_req: "/r.txt" is an absolute path; allowed: a path relative to the workdir, inside it`},
		{"escaping pip_req", "name: x\npip_req: ../r.txt\n", `runtime.yaml:2:10: pip_req: "../r.txt" leaves the workdir; allowed: a path relative to the workdir, inside it`},
		{"pip not list", "name: x\ndependencies:\n  - pip: numpy\n", `runtime.yaml:3:10: dependencies[0].pip: expected a list, got a string ("numpy")`},
		{"pip item map", "name: x\ndependencies:\n  - pip: [{a: b}]\n", `runtime.yaml:3:11: dependencies[0].pip[0]: expected a string, got a map`},
		{"pip item empty", "name: x\ndependencies:\n  - pip: ['']\n", `runtime.yaml:3:11: dependencies[0].pip[0]: empty string; expected a value`},
		{"wheel abs", "name: x\ndependencies:\n  - wheels: [/tmp/a.whl]\n", `runtime.yaml:3:14: dependencies[0].wheels[0]: "/tmp/a.whl" is an absolute path; allowed: a path relative to the workdir, inside it`},
		{"wheel escape", "name: x\ndependencies:\n  - wheels: [../a.whl]\n", `runtime.yaml:3:14: dependencies[0].wheels[0]: "../a.whl" leaves the workdir; allowed: a path relative to the workdir, inside it`},
		{"wheel not whl", "name: x\ndependencies:\n  - wheels: [a.tar.gz]\n", `runtime.yaml:3:14: dependencies[0].wheels[0]: "a.tar.gz" is not a wheel; allowed: paths of *.whl files inside the workdir`},
		{"files plain string", "name: x\ndependencies:\n  - files: [a.sh]\n", `runtime.yaml:3:13: dependencies[0].files[0]: expected a map with src and dest, got a string ("a.sh")`},
		{"files no dest", "name: x\ndependencies:\n  - files:\n      - src: a.sh\n", `runtime.yaml:4:9: dependencies[0].files[0].dest: missing; a files entry needs src and dest`},
		{"files no src", "name: x\ndependencies:\n  - files:\n      - dest: a.sh\n", `runtime.yaml:4:9: dependencies[0].files[0].src: missing; a files entry needs src and dest`},
		{"files extra key", "name: x\ndependencies:\n  - files:\n      - {src: a, dest: b, post: c}\n", `runtime.yaml:4:27: dependencies[0].files[0].post: unknown key; allowed: src, dest`},
		{"files src abs", "name: x\ndependencies:\n  - files:\n      - {src: /etc/passwd, dest: b}\n", `runtime.yaml:4:15: dependencies[0].files[0].src: "/etc/passwd" is an absolute path; allowed: a path relative to the workdir, inside it`},
		{"files src escape", "name: x\ndependencies:\n  - files:\n      - {src: ../x, dest: b}\n", `runtime.yaml:4:15: dependencies[0].files[0].src: "../x" leaves the workdir; allowed: a path relative to the workdir, inside it`},
		{"files src dot", "name: x\ndependencies:\n  - files:\n      - {src: ./, dest: b}\n", `runtime.yaml:4:15: dependencies[0].files[0].src: "./" is the whole workdir; allowed: a file or folder inside the workdir`},
		{"files dest escape", "name: x\ndependencies:\n  - files:\n      - {src: a, dest: ../../etc}\n", `runtime.yaml:4:24: dependencies[0].files[0].dest: "../../etc" leaves the environment; allowed: a path inside the environment's prefix, or an absolute path`},
		{"pip empty", "name: x\ndependencies:\n  - pip: []\n", `runtime.yaml:3:10: dependencies[0].pip: empty; allowed: a list of at least one pip requirement (e.g. numpy==1.26)`},
		{"wheels null", "name: x\ndependencies:\n  - wheels:\n", `runtime.yaml:3:12: dependencies[0].wheels: empty; allowed: a list of at least one path of a *.whl file`},
		{"commands not list", "name: x\ndependencies:\n  - commands: ls\n", `runtime.yaml:3:15: dependencies[0].commands: expected a list, got a string ("ls")`},
		{"configs unknown", "name: x\nconfigs:\n  npm: {}\n", `runtime.yaml:3:3: configs.npm: unknown key; allowed: pip, conda, docker`},
		{"pip config unknown", "name: x\nconfigs:\n  pip: {index: x}\n", `runtime.yaml:3:9: configs.pip.index: unknown key; allowed: index_url, extra_index_url, trusted_host`},
		{"index_url list", "name: x\nconfigs:\n  pip: {index_url: [a]}\n", `runtime.yaml:3:20: configs.pip.index_url: expected a string, got a list`},
		{"extra index map", "name: x\nconfigs:\n  pip: {extra_index_url: {a: b}}\n", `runtime.yaml:3:26: configs.pip.extra_index_url: expected a string or a list of strings, got a map`},
		{"channels string", "name: x\nconfigs:\n  conda: {channels: conda-forge}\n", `runtime.yaml:3:21: configs.conda.channels: expected a list, got a string ("conda-forge")`},
		{"condarc string", "name: x\nconfigs:\n  conda: {condarc: 'a: b'}\n", `runtime.yaml:3:20: configs.conda.condarc: expected a map (the content of a .condarc), got a string ("a: b")`},
		{"condarc bomb", "name: x\nconfigs:\n  conda:\n    condarc:\n      a: &a [x,x,x,x,x,x,x,x,x,x]\n      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n      e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", `runtime.yaml:5:7: configs.conda.condarc: too large once aliases are expanded; allowed: at most 10000 values`},
		{"starwhale_version bool", "name: x\nstarwhale_version: false\n", `runtime.yaml:2:20: starwhale_version: expected a string, got a boolean (false)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parse(t, tc.src)
			require.Error(t, err)
			assert.Nil(t, s)
			var se *Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.want, err.Error())
			assert.NotContains(t, err.Error(), "\n")
			assert.Equal(t, "runtime.yaml", se.File)
		})
	}
}

func TestErrorFormat(t *testing.T) {
	assert.Equal(t, `runtime.yaml:3:7: mode: "foo" is not a mode; allowed: venv, conda`,
		(&Error{File: "runtime.yaml", Line: 3, Col: 7, Field: "mode", Msg: `"foo" is not a mode; allowed: venv, conda`}).Error())
	assert.Equal(t, "f.yaml:3: bad", (&Error{File: "f.yaml", Line: 3, Msg: "bad"}).Error())
	assert.Equal(t, "f.yaml: bad thing", (&Error{File: "f.yaml", Msg: "bad\nthing"}).Error())
	assert.Equal(t, "name: bad", (&Error{Field: "name", Msg: "bad"}).Error())
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "mnist", "py3.9-torch_2", strings.Repeat("a", 63), "0"} {
		assert.NoError(t, ValidateName(ok), ok)
	}
	for _, bad := range []string{"", "A", "a-", "-a", "a..b", "a/b", "a b", ".a", strings.Repeat("a", 64), "é"} {
		err := ValidateName(bad)
		assert.Error(t, err, bad)
		if err != nil {
			assert.Contains(t, err.Error(), "allowed:")
		}
	}
}

func TestValidatePython(t *testing.T) {
	for _, ok := range []string{"2.7", "3.6", "3.10", "3.13", "3.0"} {
		assert.NoError(t, ValidatePython(ok), ok)
	}
	for _, bad := range []string{"", "3", "3.", "3.9.1", "4.0", "3.010", "3.100", "py3.9", " 3.9"} {
		assert.Error(t, ValidatePython(bad), bad)
	}
}

func TestSeedRoundTrip(t *testing.T) {
	out := Seed("mnist", "venv", "3.10", "0.1.0")
	assert.Equal(t, "mode: venv\nname: mnist\npip_req: requirements.txt\npython_version: \"3.10\"\nstarwhale_version: 0.1.0\n", string(out))
	s, err := Parse(out, "runtime.yaml")
	require.NoError(t, err)
	assert.Equal(t, "3.10", s.Python)
	assert.Equal(t, "0.1.0", s.StarwhaleVersion)
	assert.False(t, s.DefaultPipReq) // pip_req is explicit in the seed

	out = Seed("m", "", "", "")
	assert.Equal(t, "mode: venv\nname: m\npip_req: requirements.txt\npython_version: \"3.8\"\n", string(out))
	// a version that YAML would read as a number stays a string
	s, err = Parse(Seed("m", "conda", "3.9", "1.0"), "runtime.yaml")
	require.NoError(t, err)
	assert.Equal(t, "1.0", s.StarwhaleVersion)
	assert.Equal(t, "conda", s.Mode)
}

func TestNormalizedStable(t *testing.T) {
	a := `name: x
mode: conda
environment:
  python: "3.10"
  arch: amd64
dependencies:
  - pip: [numpy]
  - commands: ["echo <hi> & bye"]
configs:
  conda:
    condarc: {b: 1, a: [x, y]}
    channels: [c]
  pip:
    index_url: https://i
`
	b := `# same, other order
configs:
  pip: {index_url: 'https://i'}
  conda:
    channels: [c]
    condarc:
      a: [x, y]   # comment
      b: 1
dependencies: [{pip: [numpy]}, {commands: ['echo <hi> & bye']}]
environment: {arch: [amd64], python: 3.10}
mode: conda
name: x
`
	sa, err := parse(t, a)
	require.NoError(t, err)
	sb, err := parse(t, b)
	require.NoError(t, err)
	na, err := sa.Normalized()
	require.NoError(t, err)
	nb, err := sb.Normalized()
	require.NoError(t, err)
	assert.Equal(t, string(na), string(nb))
	assert.Equal(t, `{"conda":{"channels":["c"],"condarc":"a:\n    - x\n    - y\nb: 1\n"},"dependencies":[{"kind":"pip","packages":["numpy"]},{"command":"echo <hi> & bye","kind":"command"}],"environment":{"arch":["amd64"],"docker":{},"python":"3.10"},"mode":"conda","name":"x","pip":{"index_url":"https://i"},"python":"3.10"}`, string(na))
	again, err := sa.Normalized()
	require.NoError(t, err)
	assert.Equal(t, na, again)
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func TestLoadAndCheck(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "runtime.yaml", `name: x
dependencies:
  - reqs.txt
  - wheels: [w/a-1.0-py3-none-any.whl]
  - files:
      - {src: data, dest: data}
`)
	write(t, dir, "reqs.txt", "")
	write(t, dir, "w/a-1.0-py3-none-any.whl", "")
	write(t, dir, "data/f", "")
	path := filepath.Join(dir, "runtime.yaml")
	s, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, path, s.File())
	require.NoError(t, s.Check(dir))

	require.NoError(t, os.Remove(filepath.Join(dir, "w/a-1.0-py3-none-any.whl")))
	err = s.Check(dir)
	require.Error(t, err)
	assert.Equal(t, path+`:4:14: dependencies[1].wheels[0]: "w/a-1.0-py3-none-any.whl" does not exist in workdir `+dir, err.Error())

	write(t, dir, "w/a-1.0-py3-none-any.whl", "")
	require.NoError(t, os.Remove(filepath.Join(dir, "reqs.txt")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "reqs.txt"), 0o755))
	err = s.Check(dir)
	require.Error(t, err)
	assert.Equal(t, path+`:3:5: dependencies[0]: "reqs.txt" is a folder; allowed: a file`, err.Error())
}

func TestCheckExplicitVsDefaultPipReq(t *testing.T) {
	dir := t.TempDir()
	s, err := parse(t, "name: x\n")
	require.NoError(t, err)
	require.NoError(t, s.Check(dir), "the implicit requirements.txt may be absent")
	r, err := s.Resolve(dir)
	require.NoError(t, err)
	assert.Equal(t, []mode.Dependency{}, r.Dependencies)
	assert.Empty(t, r.Files())
	assert.True(t, s.DefaultPipReq, "Resolve leaves the original alone")

	write(t, dir, "requirements.txt", "numpy\n")
	r, err = s.Resolve(dir)
	require.NoError(t, err)
	assert.False(t, r.DefaultPipReq)
	assert.Equal(t, []string{"requirements.txt"}, r.Files())

	s, err = parse(t, "name: x\npip_req: requirements.txt\n")
	require.NoError(t, err)
	require.NoError(t, s.Check(dir))
	s, err = parse(t, "name: x\npip_req: other.txt\n")
	require.NoError(t, err)
	err = s.Check(dir)
	require.Error(t, err)
	assert.Equal(t, `runtime.yaml:2:10: pip_req: "other.txt" does not exist in workdir `+dir, err.Error())
}

func TestCheckLinkEscape(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "secret.txt", "x")
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "req.txt")))
	s, err := parse(t, "name: x\npip_req: req.txt\n")
	require.NoError(t, err)
	err = s.Check(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `runtime.yaml:2:10: pip_req: "req.txt" is a link that leaves the workdir`)
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "runtime.yaml"))
	require.Error(t, err)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Contains(t, err.Error(), "runtime.yaml: does not exist")
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "name: x\n", "name: x\npython_version: 3.10\n", string(Seed("a", "conda", "3.9", "0.1")),
		"name: x\ndependencies:\n  - a.txt\n  - pip: [a]\n  - files: [{src: a, dest: b}]\n",
		"a: &a [*a]\n", "name: &n x\nmode: *n\n", "configs: {conda: {condarc: {a: &x [1], b: *x}}}\n",
		"- [\n", "\t", "name: x\n---\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "runtime.yaml")
		if err != nil {
			if s != nil {
				t.Fatal("spec with error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err.Error())
			}
			return
		}
		if _, err := s.Normalized(); err != nil {
			t.Fatal(err)
		}
		_ = s.Files()
	})
}

// A mode plugin's name is accepted; whether a plugin serves it is the
// runtime's business.
func TestParsePluginMode(t *testing.T) {
	for _, m := range []string{"venv", "conda", "target", "my_mode-2"} {
		s, err := Parse([]byte("name: x\nmode: "+m+"\n"), "runtime.yaml")
		require.NoError(t, err, m)
		assert.Equal(t, m, s.Mode)
	}
	assert.False(t, ValidMode(strings.Repeat("a", 33)))
	assert.False(t, ValidMode("2x"))
	assert.True(t, ValidMode(strings.Repeat("a", 32)))
}

func TestConfigsDockerImage(t *testing.T) {
	s, err := Parse([]byte("name: x\nconfigs:\n  docker:\n    image: reg.local/base:py311\n"), "runtime.yaml")
	require.NoError(t, err)
	assert.Equal(t, "reg.local/base:py311", s.Environment.Docker.Image)

	s, err = Parse([]byte("name: x\nenvironment: {docker: {image: a/b}}\nconfigs: {docker: {image: a/b}}\n"), "runtime.yaml")
	require.NoError(t, err)
	assert.Equal(t, "a/b", s.Environment.Docker.Image)

	_, err = Parse([]byte("name: x\nenvironment: {docker: {image: a/b}}\nconfigs: {docker: {image: c/d}}\n"), "runtime.yaml")
	require.Error(t, err)
	assert.Equal(t, `runtime.yaml:3:27: configs.docker.image: "c/d" differs from environment.docker.image "a/b"; allowed: the same image in both, or only one of them`, err.Error())

	_, err = Parse([]byte("name: x\nconfigs: {docker: {img: c/d}}\n"), "runtime.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "configs.docker.img: unknown key; allowed: image")
}
