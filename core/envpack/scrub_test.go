package envpack

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swcli/swcli/core/mode"
)

func TestScrubberURLEscapedPaths(t *testing.T) {
	wd := "/tmp/my work dir"
	prefix := wd + "/.starwhale/venv"
	s := NewScrubber(prefix, wd)
	in := `{"archive_info": {}, "url": "file:///tmp/my%20work%20dir/wheels/x-1.0-py3-none-any.whl"}`
	out, changed := s.Transform("lib/python3.11/site-packages/x-1.0.dist-info/direct_url.json", []byte(in))
	assert.True(t, changed)
	assert.Equal(t, `{"archive_info": {}, "url": "file://`+mode.WorkdirPlaceholder+`/wheels/x-1.0-py3-none-any.whl"}`, string(out))
	text, binary := s.Result()
	assert.Equal(t, []string{"lib/python3.11/site-packages/x-1.0.dist-info/direct_url.json"}, text)
	assert.Empty(t, binary)

	// The same file from a workdir without spaces scrubs to the same bytes.
	s2 := NewScrubber("/w/.starwhale/venv", "/w")
	out2, _ := s2.Transform("x", []byte(`{"archive_info": {}, "url": "file:///w/wheels/x-1.0-py3-none-any.whl"}`))
	assert.Equal(t, string(out), string(out2))
}

func TestScrubberShebangForms(t *testing.T) {
	body := "# -*- coding: utf-8 -*-\nimport sys\nfrom pip._internal.cli.main import main\n"
	plain := func(prefix string) string { return "#!" + prefix + "/bin/python3.11\n" + body }
	sh := func(prefix string) string {
		return "#!/bin/sh\n'''exec' \"" + prefix + "/bin/python3.11\" \"$0\" \"$@\"\n' '''\n" + body
	}
	shUnquoted := func(prefix string) string {
		return "#!/bin/sh\n'''exec' " + prefix + "/bin/python3.11 \"$0\" \"$@\"\n' '''\n" + body
	}
	want := plain(mode.PrefixPlaceholder)
	for name, c := range map[string]struct{ prefix, script string }{
		"plain":               {"/w/.starwhale/venv", plain("/w/.starwhale/venv")},
		"sh form for a space": {"/my w/.starwhale/venv", sh("/my w/.starwhale/venv")},
		"sh form for length":  {"/" + strings.Repeat("x", 130) + "/.starwhale/venv", shUnquoted("/" + strings.Repeat("x", 130) + "/.starwhale/venv")},
	} {
		t.Run(name, func(t *testing.T) {
			s := NewScrubber(c.prefix, "")
			out, changed := s.Transform("bin/pip", []byte(c.script))
			assert.True(t, changed)
			assert.Equal(t, want, string(out))
		})
	}
	// A /bin/sh script of another interpreter stays as it is.
	other := "#!/bin/sh\n'''exec' /usr/bin/python3 \"$0\" \"$@\"\n' '''\n/w/.starwhale/venv\n"
	out, _ := NewScrubber("/w/.starwhale/venv", "").Transform("bin/x", []byte(other))
	assert.Equal(t, strings.Replace(other, "/w/.starwhale/venv", mode.PrefixPlaceholder, 1), string(out))
}

func TestURLPath(t *testing.T) {
	assert.Equal(t, "/a/b_c.d-e~f", urlPath("/a/b_c.d-e~f"))
	assert.Equal(t, "/my%20dir/%C3%A9%2B%40", urlPath("/my dir/é+@"))
}

func TestReplacePathBoundaries(t *testing.T) {
	r := func(s, old string) string { return string(replacePath([]byte(s), []byte(old), []byte("@P"))) }
	assert.Equal(t, "@P/x @P \"@P\" file://@P/y", r("/w/x /w \"/w\" file:///w/y", "/w"))
	assert.Equal(t, "/wheels /w2 /w.d /w-x /w_x", r("/wheels /w2 /w.d /w-x /w_x", "/w"))
	assert.Equal(t, "a=@P:@P;", r("a=/w:/w;", "/w"))
	// A path is a path wherever it starts: after a compiler flag, a key, a
	// quote or another path's end; only what follows it bounds it.
	assert.Equal(t, "-L@P/lib -I@P/include -Wl,-rpath,@P/lib prefix=@P\n'@P' x@P", r("-L/w/lib -I/w/include -Wl,-rpath,/w/lib prefix=/w\n'/w' x/w", "/w"))
}

// TestScrubberCondaPythonFiles: the files of a conda Python that hold the
// build prefix after a flag (-L, -I) are scrubbed like any other.
func TestScrubberCondaPythonFiles(t *testing.T) {
	prefix := "/tmp/wd/.starwhale/conda"
	s := NewScrubber(prefix, "/tmp/wd")
	for rel, in := range map[string]string{
		"lib/python3.11/_sysconfigdata__linux_x86_64-linux-gnu.py": "build_time_vars = {'LDFLAGS': '-L" + prefix + "/lib -Wl,-rpath," + prefix + "/lib', 'INCLUDEPY': '" + prefix + "/include/python3.11'}\n",
		"lib/pkgconfig/python-3.11.pc":                             "prefix=" + prefix + "\nLibs: -L" + prefix + "/lib -lpython3.11\nCflags: -I" + prefix + "/include/python3.11\n",
		"bin/python3.11-config":                                    "#!/bin/sh\necho -I" + prefix + "/include/python3.11 -L" + prefix + "/lib\n",
		"lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile":     "prefix=\t\t" + prefix + "\nLDFLAGS=-L" + prefix + "/lib\n",
	} {
		out, changed := s.Transform(rel, []byte(in))
		assert.True(t, changed, rel)
		assert.NotContains(t, string(out), prefix, rel)
		assert.NotContains(t, string(out), "/tmp/wd", rel)
	}
}

// TestScrubberCondaMeta: conda-meta records and history pack the same from
// any folder at any time.
func TestScrubberCondaMeta(t *testing.T) {
	rec := func(prefix, sha, cache string) string {
		return `{"name": "libfoo", "size": 12345, "timestamp": 1700000000123,
  "extracted_package_dir": "` + cache + `/pkgs/libfoo-1.0-h0", "package_tarball_full_path": "` + cache + `/pkgs/libfoo-1.0-h0.conda",
  "link": {"source": "` + cache + `/pkgs/libfoo-1.0-h0", "type": 1},
  "paths_data": {"paths": [
    {"_path": "etc/libfoo.conf", "path_type": "hardlink", "prefix_placeholder": "/opt/anaconda1anaconda2anaconda3", "file_mode": "text", "sha256": "aa", "sha256_in_prefix": "` + sha + `"},
    {"_path": "share/data", "path_type": "hardlink", "sha256": "bb", "sha256_in_prefix": "bb"}], "paths_version": 1}}`
	}
	hist := func(prefix, when string) string {
		return "==> " + when + " <==\n# cmd: conda create -y -p " + prefix + " python=3.11\n+conda-forge/linux-64::python-3.11.5-h0\n"
	}
	pack := func(prefix, sha, cache, when string) (string, string) {
		s := NewScrubber(prefix, "")
		r, _ := s.Transform("conda-meta/libfoo-1.0-h0.json", []byte(rec(prefix, sha, cache)))
		h, _ := s.Transform("conda-meta/history", []byte(hist(prefix, when)))
		return string(r), string(h)
	}
	r1, h1 := pack("/a/.starwhale/conda", "11", "/home/a/miniconda3", "2026-01-01 10:00:00")
	r2, h2 := pack("/other/b/.starwhale/conda", "22", "/opt/conda", "2026-02-03 11:12:13")
	assert.Equal(t, r1, r2)
	assert.Equal(t, h1, h2)
	assert.NotContains(t, r1, "miniconda3")
	assert.NotContains(t, r1, `"sha256_in_prefix": "11"`)
	assert.Contains(t, r1, `"sha256_in_prefix": "bb"`, "a hash that does not depend on the prefix stays")
	assert.Contains(t, r1, `1700000000123`, "numbers kept exactly")
	assert.Contains(t, h1, "-p "+mode.PrefixPlaceholder+" ")
}

// TestScrubberPrefixWhereverItIs: the prefix is found and replaced whether
// it is under the workdir (where a file without the workdir is scanned
// once) or not (a conda env elsewhere), in plain and URL spellings, and in
// binary content it is reported.
func TestScrubberPrefixWhereverItIs(t *testing.T) {
	for _, tc := range []struct{ prefix, wd, in, want string }{
		{"/w/.starwhale/venv", "/w", "#!/w/.starwhale/venv/bin/python\n", "#!" + mode.PrefixPlaceholder + "/bin/python\n"},
		{"/w/.starwhale/venv", "/w", "data = '/w/data'\n", "data = '" + mode.WorkdirPlaceholder + "/data'\n"},
		{"/opt/env", "/home/w", "#!/opt/env/bin/python\n", "#!" + mode.PrefixPlaceholder + "/bin/python\n"},
		{"/opt/my env", "/home/w", "url = file:///opt/my%20env/lib\n", "url = file://" + mode.PrefixPlaceholder + "/lib\n"},
		{"/w/my env", "/w", "url = file:///w/my%20env/lib\n", "url = file://" + mode.PrefixPlaceholder + "/lib\n"},
	} {
		s := NewScrubber(tc.prefix, tc.wd)
		out, changed := s.Transform("f", []byte(tc.in))
		assert.True(t, changed, tc.in)
		assert.Equal(t, tc.want, string(out), tc.in)
	}
	s := NewScrubber("/opt/env", "/home/w")
	_, changed := s.Transform("lib.so", []byte("\x00\x01/opt/env/lib\x00"))
	assert.False(t, changed)
	_, binary := s.Result()
	assert.Equal(t, []string{"lib.so"}, binary)
}
