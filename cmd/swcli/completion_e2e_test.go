package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestCompletionE2E sources `swcli completion bash` in a real bash and calls
// its completion function as bash would (COMP_WORDS, COMP_CWORD): commands,
// flags (Starwhale's multi-letter short ones too), runtime names, versions
// and tags from the local store. zsh and fish load their scripts.
func TestCompletionE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	wd := stWorkdir(t, filepath.Join(t.TempDir(), "wd"), "comp-rt", py.Version, testpy.Wheel{Name: "tiny-c", Version: "1.0"})
	b := c.stBuildOK(wd, "--lock-only", "-t", "golden")
	c.ok("runtime", "copy", "comp-rt", "local/project/self/runtime/comp-other")
	c.ok("runtime", "copy", "comp-rt", "local/project/self/runtime/zeta")

	bashComplete := bashCompleter(t, c)
	assert.Equal(t, []string{"runtime"}, bashComplete("swcli ru"))
	assert.Subset(t, bashComplete("swcli runtime "), []string{"build", "diff", "lock", "list", "copy"})
	assert.Equal(t, []string{"diff"}, bashComplete("swcli runtime di"))
	assert.Subset(t, bashComplete("swcli runtime build -"), []string{"--venv", "-v", "-cp", "-dpo", "-dcc", "--push", "--cuda"})
	assert.Equal(t, []string{"-dpo"}, bashComplete("swcli runtime build -dp"))
	assert.ElementsMatch(t, []string{"comp-rt", "comp-other"}, bashComplete("swcli runtime info comp"))
	assert.Equal(t, []string{"zeta"}, bashComplete("swcli rt diff comp-rt z"))
	vers := bashComplete("swcli runtime info comp-rt/version/")
	assert.Subset(t, vers, []string{"comp-rt/version/" + b.Version, "comp-rt/version/golden", "comp-rt/version/latest", "comp-rt/version/v0"})
	assert.Equal(t, []string{"comp-rt/version/golden"}, bashComplete("swcli runtime info comp-rt/version/go"))
	assert.Equal(t, []string{"json"}, bashComplete("swcli -o j"))
	assert.Empty(t, bashComplete("swcli runtime info nothing-like-it"))

	env := append(append([]string{}, c.env...), "PATH="+filepath.Dir(c.bin)+":"+os.Getenv("PATH"))
	for _, sh := range []struct{ bin, prog string }{
		{"zsh", "autoload -U compinit; compinit -u; source " + filepath.Join(c.home, "swcli.zsh") + "; whence -w _swcli"},
		{"fish", "source " + filepath.Join(c.home, "swcli.fish") + "; complete -c swcli"},
	} {
		if _, err := exec.LookPath(sh.bin); err != nil {
			t.Logf("%s is not installed; not loading its script", sh.bin)
			continue
		}
		write(t, filepath.Join(c.home, "swcli."+sh.bin), c.ok("completion", sh.bin).stdout)
		cmd := exec.Command(sh.bin, "-c", sh.prog)
		cmd.Env, cmd.Dir = env, c.home
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", sh.bin, out)
		assert.NotContains(t, string(out), "error", sh.bin)
		assert.Contains(t, string(out), "swcli", sh.bin)
	}
	c.fail([]string{`got "tcsh"`, "allowed: bash, zsh, fish"}, "completion", "tcsh")
}

// bashCompleter sources c's `swcli completion bash` in a real bash and
// returns a function that completes a command line as bash would
// (COMP_WORDS, COMP_CWORD), the last word being the one completed.
func bashCompleter(t *testing.T, c *cli) func(line string) []string {
	script := filepath.Join(c.home, "swcli.bash")
	write(t, script, c.ok("completion", "bash").stdout)
	return func(line string) []string {
		t.Helper()
		words := strings.Split(line, " ")
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(q, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_swcli_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
		cmd.Env = append(append([]string{}, c.env...), "PATH="+filepath.Dir(c.bin)+":"+os.Getenv("PATH"))
		cmd.Dir = c.home
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.Fields(string(out))
	}
}

// TestCompletionStoreE2E: completion lists the runtimes of the store the
// local instance is on, not only the default filesystem store: SW_STORE (a
// file:// folder, and an S3 bucket through the s3store plugin, which is
// stopped again) and the CLI config's `store:`.
func TestCompletionStoreE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	wd := stWorkdir(t, filepath.Join(t.TempDir(), "wd"), "in-default", py.Version)
	c.stBuildOK(wd, "--lock-only")
	shared := "file://" + filepath.Join(t.TempDir(), "shared-store")
	c.setenv("SW_STORE=" + shared)
	b := c.stBuildOK(wd, "--lock-only", "-n", "in-shared", "-t", "team")
	complete := bashCompleter(t, c)
	assert.Equal(t, []string{"in-shared"}, complete("swcli runtime info in-"), "SW_STORE's runtimes")
	assert.Subset(t, complete("swcli runtime info in-shared/version/"), []string{"in-shared/version/" + b.Version, "in-shared/version/team"})
	c.setenv("SW_STORE=")
	assert.Equal(t, []string{"in-default"}, complete("swcli runtime info in-"), "the default store without SW_STORE")
	write(t, filepath.Join(c.home, "config", "config.yaml"), "current_instance: local\ninstances:\n  local: {uri: local, type: standalone}\nstore: '"+shared+"'\n")
	assert.Equal(t, []string{"in-shared"}, complete("swcli runtime info in-"), "the config's store:")
	c.setenv("SW_STORE=nosuchscheme://x")
	assert.Empty(t, complete("swcli runtime info in-"), "a broken store completes nothing")
	require.NoError(t, os.Remove(filepath.Join(c.home, "config", "config.yaml")))

	srv := s3test.Start(t)
	c.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey, "SW_STORE="+srv.URL(srv.Bucket(t), "team"))
	c.stBuildOK(wd, "--lock-only", "-n", "in-bucket")
	assert.Equal(t, []string{"in-bucket"}, complete("swcli runtime info in-"), "the bucket's runtimes, through the s3store plugin")
	c.assertNoProcesses("after completing from the bucket")
}
