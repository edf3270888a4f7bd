package spec

import (
	"fmt"
	"regexp"
	"strings"
)

// ForEnv is the runtime.yaml that describes an environment built as it is
// (`runtime build -v/-c/-cp/-s`): its mode, name and Python X.Y, and no
// dependencies, since the lock the build writes beside it is what a restore
// installs. It holds no path, so the same environment gives the same file
// wherever it lives.
func ForEnv(name, mode, python string) ([]byte, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := ValidatePython(python); err != nil {
		return nil, err
	}
	return []byte(fmt.Sprintf("# written by swcli runtime build from an existing %s environment;\n# the lock files under .starwhale/lock hold what it contains.\nmode: %s\nname: %s\npython_version: %q\ndependencies: []\n", mode, mode, name, python)), nil
}

var nameJunk = regexp.MustCompile(`[^a-z0-9]+`)

// NameFromFolder makes a runtime name of a folder's base name ("My Env" is
// "my-env", ".venv" is "venv"), or "" when nothing usable is left.
func NameFromFolder(base string) string {
	n := strings.Trim(nameJunk.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	if ValidateName(n) != nil {
		return ""
	}
	return n
}
