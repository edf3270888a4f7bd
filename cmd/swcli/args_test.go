package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(&appState{})
	cases := []struct{ in, want []string }{
		{[]string{"runtime", "create", "wd", "--name", "x", "--force"},
			[]string{"runtime", "create", "--name", "x", "--force", "--", "wd"}},
		{[]string{"plugin", "list", "-o", "json"},
			[]string{"-o", "json", "plugin", "list"}},
		{[]string{"plugin", "--output=json", "list", "--verbose"},
			[]string{"--output=json", "--verbose", "plugin", "list"}},
		{[]string{"runtime", "activate", "wd", "--print", "--shell", "fish", "-v"},
			[]string{"-v", "runtime", "activate", "--print", "--shell", "fish", "--", "wd"}},
		// Everything after "--", and after the first word of a run's command,
		// is the command's.
		{[]string{"runtime", "run", "wd", "-o", "json", "--", "python", "-v", "--", "-o"},
			[]string{"-o", "json", "runtime", "run", "--", "wd", "--", "python", "-v", "--", "-o"}},
		{[]string{"rt", "run", "wd", "python", "-c", "x", "--verbose"},
			[]string{"rt", "run", "--", "wd", "python", "-c", "x", "--verbose"}},
		{[]string{"--version"}, []string{"--version"}},
		// Starwhale's multi-letter short flags, in either position; a
		// command's -v (build --venv) shadows the global -v.
		{[]string{"runtime", "build", "-v", "/p", "-dpo", "-n", "x"},
			[]string{"runtime", "build", "-v", "/p", "-dpo", "-n", "x"}},
		{[]string{"runtime", "build", "wd", "-dcc", "-cp", "/c", "--arch", "amd64"},
			[]string{"runtime", "build", "-dcc", "-cp", "/c", "--arch", "amd64", "--", "wd"}},
		{[]string{"-v", "runtime", "build", "-cp", "/c"}, []string{"-v", "runtime", "build", "-cp", "/c"}},
		{[]string{"runtime", "list", "project/self", "-fl", "latest", "-sr"},
			[]string{"runtime", "list", "-fl", "latest", "-sr", "--", "project/self"}},
	}
	for _, c := range cases {
		got := reorderArgs(app, append([]string{"swcli"}, c.in...))
		assert.Equal(t, append([]string{"swcli"}, c.want...), got, "%v", c.in)
	}
}
