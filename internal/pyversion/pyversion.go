// Package pyversion holds what the venv plugin and sdk/testpy both need to
// find Python interpreters: where pyenv keeps them, and how dotted Python
// versions order.
package pyversion

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Less compares dotted numeric versions ("3.9.18" < "3.10.1"); a
// non-numeric part counts as 0.
func Less(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// PyenvRoot is $PYENV_ROOT or ~/.pyenv ("" when there is no home).
func PyenvRoot() string {
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		return r
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".pyenv")
}
