package uri

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want URI
		kind Kind
		str  string
	}{
		{"mnist", URI{Instance: "local", Project: "self", Name: "mnist"}, KindRuntime, "local/project/self/runtime/mnist"},
		{"mnist/version/abcd1234", URI{Instance: "local", Project: "self", Name: "mnist", Version: "abcd1234"}, KindVersion, "local/project/self/runtime/mnist/version/abcd1234"},
		{"mnist/version/latest", URI{Instance: "local", Project: "self", Name: "mnist", Version: "latest"}, KindVersion, "local/project/self/runtime/mnist/version/latest"},
		{"project/self", URI{Instance: "local", Project: "self", ExplicitProject: true}, KindProject, "local/project/self"},
		{"local/project/self", URI{Instance: "local", Project: "self", ExplicitInstance: true, ExplicitProject: true}, KindProject, "local/project/self"},
		{"project/p1/runtime/py3.9-torch", URI{Instance: "local", Project: "p1", Name: "py3.9-torch", ExplicitProject: true, Artifact: "runtime"}, KindRuntime, "local/project/p1/runtime/py3.9-torch"},
		{"project/p1/runtime/x/version/v1", URI{Instance: "local", Project: "p1", Name: "x", Version: "v1", ExplicitProject: true, Artifact: "runtime"}, KindVersion, "local/project/p1/runtime/x/version/v1"},
		{"prod/project/p1/runtime/x", URI{Instance: "prod", Project: "p1", Name: "x", ExplicitInstance: true, ExplicitProject: true, Artifact: "runtime"}, KindRuntime, "prod/project/p1/runtime/x"},
		{"cloud://prod/project/p1/runtime/x/version/My_Tag.1", URI{Instance: "prod", Project: "p1", Name: "x", Version: "My_Tag.1", ExplicitInstance: true, ExplicitProject: true, Artifact: "runtime"}, KindVersion, "prod/project/p1/runtime/x/version/My_Tag.1"},
		{"cloud://prod/project/p1", URI{Instance: "prod", Project: "p1", ExplicitInstance: true, ExplicitProject: true}, KindProject, "prod/project/p1"},
		{"http://127.0.0.1:8082/project/self/runtime/x", URI{Instance: "http://127.0.0.1:8082", Project: "self", Name: "x", ExplicitInstance: true, ExplicitProject: true, Artifact: "runtime"}, KindRuntime, "http://127.0.0.1:8082/project/self/runtime/x"},
		{"HTTPS://Example.COM/project/p", URI{Instance: "https://example.com", Project: "p", ExplicitInstance: true, ExplicitProject: true}, KindProject, "https://example.com/project/p"},
		{"http://[::1]:80/project/p", URI{Instance: "http://[::1]:80", Project: "p", ExplicitInstance: true, ExplicitProject: true}, KindProject, "http://[::1]:80/project/p"},
		{"oci://127.0.0.1:5000/project/p/runtime/x/version/v1", URI{Instance: "oci://127.0.0.1:5000", Project: "p", Name: "x", Version: "v1", ExplicitInstance: true, ExplicitProject: true, Artifact: "runtime"}, KindVersion, "oci://127.0.0.1:5000/project/p/runtime/x/version/v1"},
		{"oci://127.0.0.1:5000/team/envs/mnist:v1", URI{Instance: "oci://127.0.0.1:5000/team/envs/", Repository: "team/envs/mnist", Project: "self", Name: "mnist", Version: "v1", ExplicitInstance: true}, KindVersion, "oci://127.0.0.1:5000/team/envs/mnist:v1"},
		{"oci://127.0.0.1:5000/mnist", URI{Instance: "oci://127.0.0.1:5000/", Repository: "mnist", Project: "self", Name: "mnist", ExplicitInstance: true}, KindRuntime, "oci://127.0.0.1:5000/mnist"},
		{"OCI://Reg.Example/a/b__c/d-e/m.1@sha256:abababababababababababababababababababababababababababababababab", URI{Instance: "oci://reg.example/a/b__c/d-e/", Repository: "a/b__c/d-e/m.1", Project: "self", Name: "m.1", Version: "sha256:abababababababababababababababababababababababababababababababab", ExplicitInstance: true}, KindVersion, "oci://reg.example/a/b__c/d-e/m.1@sha256:abababababababababababababababababababababababababababababababab"},
		{"project/version/v1", URI{Instance: "local", Project: "self", Name: "project", Version: "v1"}, KindVersion, "local/project/self/runtime/project/version/v1"},
		{"project", URI{Instance: "local", Project: "self", Name: "project"}, KindRuntime, "local/project/self/runtime/project"},
		{"mnist.swrt", URI{File: "mnist.swrt", Artifact: "runtime"}, KindFile, "mnist.swrt"},
		{"./out/x-v1.swrt", URI{File: "./out/x-v1.swrt", Artifact: "runtime"}, KindFile, "./out/x-v1.swrt"},
		{"/tmp/My Bundle.swrt", URI{File: "/tmp/My Bundle.swrt", Artifact: "runtime"}, KindFile, "/tmp/My Bundle.swrt"},
		{"local/project/self/model/mnist/version/v0", URI{Instance: "local", Project: "self", Name: "mnist", Version: "v0", Artifact: "model", ExplicitInstance: true, ExplicitProject: true}, KindVersion, "local/project/self/model/mnist/version/v0"},
		{"project/p/dataset/mnist", URI{Instance: "local", Project: "p", Name: "mnist", Artifact: "dataset", ExplicitProject: true}, KindRuntime, "local/project/p/dataset/mnist"},
		{"out/m.swmp", URI{File: "out/m.swmp", Artifact: "model"}, KindFile, "out/m.swmp"},
		{"d.swds", URI{File: "d.swds", Artifact: "dataset"}, KindFile, "d.swds"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, u)
			assert.Equal(t, tc.kind, u.Kind())
			assert.Equal(t, tc.str, u.String())
			back, err := Parse(u.String())
			require.NoError(t, err)
			assert.Equal(t, u.String(), back.String())
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "empty"},
		{" mnist", "contains spaces or control characters"},
		{"x//y", "empty part between slashes"},
		{"mnist/", "empty part between slashes"},
		{"/project/self", "empty part between slashes"},
		{"MNIST", `"MNIST" is not a valid runtime name; allowed: lowercase letters`},
		{"a..b", `"a..b" is not a valid runtime name`},
		{strings.Repeat("a", 64), "is 64 characters long"},
		{"mnist/v1", "not a URI"},
		{"mnist/tag/v1", "not a URI"},
		{"mnist/version/-v", `"-v" is not a version or tag; allowed: [A-Za-z0-9][A-Za-z0-9._-]{0,127}`},
		{"mnist/version/" + strings.Repeat("a", 129), "is not a version or tag"},
		{"project/P", `"P" is not a project name`},
		{"project/p/job/x", "expected runtime/NAME, model/NAME or dataset/NAME after project/p, got job/"},
		{"project/p/runtime/x/tag/v", "expected version/V after runtime/x, got tag/"},
		{"project/p/runtime", "not a URI"},
		{"project/p/runtime/x/version", "not a URI"},
		{"local/project/p/runtime", "wrong number of parts"},
		{"local/project/p/runtime/x/version/v/extra", "wrong number of parts"},
		{"bad!/project/p", `instance "bad!" is not an alias`},
		{"cloud://local/project/p", "cloud://local is not an instance"},
		{"cloud://a b/project/p", `"a b" is not an instance alias`},
		{"cloud://a!b/project/p", `"a!b" is not an instance alias`},
		{"cloud://prod", "an instance alone is not a resource"},
		{"cloud://prod/", "an instance alone is not a resource"},
		{"cloud://prod/runtime/x", "expected project/P after the instance"},
		{"ftp://h/project/p", `scheme "ftp" is not supported`},
		{"http://h:0/project/p", `"0" is not a port`},
		{"http://h:99999/project/p", `"99999" is not a port`},
		{"http://h:x/project/p", `"x" is not a port`},
		{"http://u@h/project/p", "user info, query and fragment are not allowed"},
		{"http://-h/project/p", `"-h" is not a host name or IP address`},
		{"http:///project/p", `"" is not a host name or IP address`},
		{"oci://h/Team/x", `"Team" is not an OCI repository component`},
		{"oci://h/team//x", "empty part between slashes"},
		{"oci://h/team/x:", "an empty tag after ':'"},
		{"oci://h/team/x:-t", `"-t" is not a version or tag`},
		{"oci://h/team/x@sha256:12", `"sha256:12" is not a digest`},
		{"oci://h/team/a__b", `"a__b", the last part of the OCI repository, is the runtime name`},
		{"oci://h/" + strings.Repeat("a/", 128) + "x", "the OCI repository is 257 characters long; allowed: at most 255"},
		{".swrt", "a bundle file needs a name before .swrt"},
		{"dir/.swrt", "a bundle file needs a name before .swrt"},
		{".swmp", "a bundle file needs a name before .swmp"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.Error(t, err)
			var ue *Error
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tc.in, ue.Input)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "uri "), err.Error())
			assert.True(t, strings.HasSuffix(err.Error(), "; "+Forms), err.Error())
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := Parse("x//y")
	assert.EqualError(t, err, `uri "x//y": empty part between slashes; allowed forms: NAME, NAME/version/VERSION, [INSTANCE/]project/P[/runtime|model|dataset/NAME[/version/V]], oci://HOST[:PORT]/REPO[:TAG|@DIGEST], FILE.swrt|.swmp|.swds`)
}

func TestKindAndString(t *testing.T) {
	assert.Equal(t, KindProject, URI{}.Kind())
	assert.Equal(t, "local/project/self", URI{}.String())
	assert.True(t, URI{}.IsLocal())
	assert.False(t, URI{Instance: "prod"}.IsLocal())
	assert.False(t, URI{File: "a.swrt"}.IsLocal())
	assert.Equal(t, "local/project/self/runtime/x", URI{Name: "x"}.String())
}

func TestOCINamespace(t *testing.T) {
	for _, tc := range []struct{ base, ns, inst string }{
		{"oci://h:5000", "", "oci://h:5000/"},
		{"oci://h:5000", "team/envs", "oci://h:5000/team/envs/"},
	} {
		assert.Equal(t, tc.inst, OCINamespace(tc.base, tc.ns))
		base, ns, ok := SplitOCINamespace(tc.inst)
		assert.True(t, ok)
		assert.Equal(t, tc.base, base)
		assert.Equal(t, tc.ns, ns)
	}
	for _, inst := range []string{"oci://h:5000", "http://h/", "local", "prod"} {
		_, _, ok := SplitOCINamespace(inst)
		assert.False(t, ok, inst)
	}
}

func TestIsWorkdir(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "runtime.yaml")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	assert.True(t, IsWorkdir(dir))
	assert.False(t, IsWorkdir(f))
	assert.False(t, IsWorkdir(filepath.Join(dir, "missing")))
	assert.False(t, IsWorkdir(""))
	assert.True(t, IsFile("a.swrt"))
	assert.False(t, IsFile("http://h/a.swrt"))
	assert.False(t, IsFile("mnist"))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"mnist", "mnist/version/v1", "project/self", "local/project/self/runtime/x/version/latest",
		"cloud://prod/project/p", "http://[::1]:80/project/p", "https://h:443/project/p/runtime/x", "a.swrt", "x//y", "http://h:0/",
		"oci://h:5000/team/envs/mnist:v1", "oci://h/m@sha256:" + strings.Repeat("0", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if u.Kind() == KindFile {
			return
		}
		back, err := Parse(u.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", u.String(), s, err)
		}
		if back.String() != u.String() || back.Kind() != u.Kind() {
			t.Fatalf("round trip of %q: %q -> %q", s, u.String(), back.String())
		}
	})
}
