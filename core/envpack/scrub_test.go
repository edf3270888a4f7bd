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
	assert.Equal(t, "/wheels /home/u/w /w2 /w.d", r("/wheels /home/u/w /w2 /w.d", "/w"))
	assert.Equal(t, "a=@P:@P;", r("a=/w:/w;", "/w"))
}
