package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
)

// chromiumPath is Debian's Chromium, installed by .ci/deps.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium driven through chromedp that writes a
// screenshot of every page it is asked to.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("chromium"); err != nil {
			t.Skipf("no Chromium at %s or on PATH (Debian's chromium package, installed by .ci/deps): the browser test needs it", chromiumPath)
		}
	}
	dir := os.Getenv("SW_TEST_SCREENSHOTS")
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "swcli-console-screenshots-")
		require.NoError(t, err)
		t.Cleanup(func() {
			if !t.Failed() {
				os.RemoveAll(dir)
			}
		})
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("screenshots of every page: %s (kept when the test fails or SW_TEST_SCREENSHOTS is set)", dir)
	// Without the background-networking flags Chromium dials Google at
	// start, and this machine's closed network refuses it.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelB(); cancelA() })
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return &browser{t: t, ctx: ctx, base: base, dir: dir}
}

// stepTimeout bounds one step, so a missing element fails the test
// instead of hanging it.
const stepTimeout = time.Minute

// run runs actions and fails the test on an error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...), what)
}

// get runs one action that returns a value.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(b.t, err, what)
	return v
}

// open navigates to path and waits for the page's main element.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("#main")))
}

// shot writes a full-page screenshot named after what it shows.
func (b *browser) shot(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	b.n++
	require.NoError(b.t, os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name)), png, 0o644))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return get(b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func evalJS[T any](b *browser, js string) T {
	b.t.Helper()
	return get(b, "evaluate "+js, chromedp.Evaluate[T](js))
}

// signIn signs in through the form, with a password or a token.
func (b *browser) signIn(user, pass, token string) {
	b.t.Helper()
	b.open("/login")
	var actions []chromedp.Action[chromedp.Void]
	if token != "" {
		actions = append(actions, chromedp.SendKeys(chromedp.CSS("#token"), token))
	} else {
		actions = append(actions, chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), pass))
	}
	actions = append(actions, chromedp.Click(chromedp.CSS("#signin-button")), chromedp.WaitVisible(chromedp.CSS("#whoami")))
	b.run("sign in as "+user, actions...)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.run("sign out", chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.CSS("#signin-button")))
}

// visibleRows counts the rows of a table the filter left visible.
func (b *browser) visibleRows(table string) int {
	b.t.Helper()
	return evalJS[int](b, `Array.from(document.querySelectorAll("#`+table+` tbody tr")).filter(r => !r.hidden).length`)
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	f := newFixture(t, false)
	b := newBrowser(t, f.url)

	// anonymous: a private project is the 404 page; public ones are listed
	b.open("/projects/proj/runtimes/rt")
	assert.Contains(t, b.text("#message"), "There is no such page, or you may not see it.")
	b.shot("anonymous-private-project-404")
	b.open("/projects")
	list := b.text("#main")
	assert.Contains(t, list, "pub")
	assert.NotContains(t, list, "proj")
	b.shot("anonymous-projects")

	// a wrong password is told on the page
	b.open("/login")
	b.run("wrong password", chromedp.SendKeys(chromedp.CSS("#username"), "mike"), chromedp.SendKeys(chromedp.CSS("#password"), "nope"),
		chromedp.Click(chromedp.CSS("#signin-button")), chromedp.WaitVisible(chromedp.CSS("#message")))
	assert.Contains(t, b.text("#message"), "wrong, revoked or expired")
	b.shot("login-wrong-password")

	// the maintainer browses to a version and reads its packages
	b.signIn("mike", password, "")
	b.shot("projects")
	b.run("open proj", chromedp.Click(chromedp.CSS(`a[href="/projects/proj"]`)), chromedp.WaitVisible(chromedp.CSS("#runtimes")))
	assert.Equal(t, 2, b.visibleRows("runtimes"))
	b.run("filter runtimes", chromedp.SendKeys(chromedp.CSS("#filter"), "ev"))
	assert.Equal(t, 1, b.visibleRows("runtimes"), "the filter runs (script-src 'self' works)")
	assert.Contains(t, b.text("#runtimes-count"), "1 of 2 shown")
	b.shot("runtimes-filtered")
	b.open("/projects/proj/runtimes/rt")
	b.shot("versions")
	b.run("open v1", chromedp.Click(chromedp.CSS(`#versions a[href$="/versions/`+f.v1.Short+`"]`)), chromedp.WaitVisible(chromedp.CSS("#packages")))
	pkgs := b.text("#packages")
	for _, want := range []string{"numpy", "1.26.4", "requests", "2.32.3", "torch-lite", "wheels/torch_lite-0.9-py3-none-any.whl"} {
		assert.Contains(t, pkgs, want)
	}
	assert.Contains(t, b.text("#runtime-yaml"), "python_version: '3.12'")
	assert.Contains(t, b.text("#cmd-copy"), "swcli runtime copy "+f.url+"/project/proj/runtime/rt/version/"+f.v1.Short)
	b.run("search packages", chromedp.SendKeys(chromedp.CSS("#pkg-filter"), "torch"))
	assert.Equal(t, 1, b.visibleRows("packages"))
	b.shot("version")

	// compare the two versions from the versions page's form
	b.open("/projects/proj/runtimes/rt")
	b.run("compare", chromedp.Click(chromedp.CSS(`#compare button`)), chromedp.WaitVisible(chromedp.CSS("#package-changes")))
	changes := b.text("#main")
	assert.Contains(t, changes, "1 added, 1 removed, 1 changed, 1 the same.")
	assert.Contains(t, b.text("#facts"), "3.12.1")
	b.shot("compare")

	// tag and remove as a maintainer
	b.open("/projects/proj/runtimes/rt/versions/" + f.v0.Short)
	b.run("tag", chromedp.SendKeys(chromedp.CSS("#new-tag"), "prod"), chromedp.Click(chromedp.CSS("#tag-button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	assert.Contains(t, b.text(".notice"), "Tagged.")
	assert.Contains(t, b.text("#tags"), "prod")
	assert.Contains(t, f.tags("proj", "rt", "v0"), "prod")
	b.shot("version-tagged")
	// wait for the versions page (the version page had a notice too)
	b.run("remove", chromedp.Click(chromedp.CSS("#remove-button")), chromedp.WaitVisible(chromedp.CSS("#versions")))
	assert.Contains(t, b.text(".notice"), "moved to the trash")
	_, err := f.reg.Resolve(ctx, "proj", "rt", f.v0.Short)
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf, "v0 is removed")
	b.shot("versions-after-remove")
	b.open("/projects/proj/members")
	b.shot("members")
	b.open("/tokens")
	b.shot("tokens")

	// markup in runtime.yaml and in the lock stays text and runs nothing
	b.open("/projects/proj/runtimes/evil/versions/latest")
	assert.Contains(t, b.text("#runtime-yaml"), "<script>window.pwned=1</script>")
	assert.Contains(t, b.text("#packages"), evilPackage)
	pwned := evalJS[bool](b, `window.pwned !== undefined`)
	injected := evalJS[bool](b, `document.getElementById("injected") !== null || document.getElementById("injected-pkg") !== null`)
	scriptsRan := evalJS[bool](b, `!document.getElementById("pkg-filter").hidden`)
	assert.False(t, pwned, "no injected script ran")
	assert.False(t, injected, "no injected element exists")
	assert.True(t, scriptsRan, "the console's own script ran, so the check above means something")
	b.shot("injection-rendered-as-text")
	b.open("/logout")
	b.shot("logout")
	b.run("sign out", chromedp.Click(chromedp.CSS("#signout-button")), chromedp.WaitVisible(chromedp.CSS("#signin-button")))
	b.shot("signed-out")

	// a guest sees no change forms, and a forged one is refused
	b.signIn("gus", password, "")
	b.open("/projects/proj/runtimes/rt/versions/" + f.v1.Short)
	forms := evalJS[int](b, `document.querySelectorAll("#tag-form, #remove-button").length`)
	assert.Zero(t, forms, "a guest gets no change forms")
	// submit what a maintainer's form would (with the guest's own CSRF token)
	b.run("forge a tag form", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form"); f.method = "post"; f.action = "/projects/proj/runtimes/rt";
		const add = (n, v) => { const i = document.createElement("input"); i.type = "hidden"; i.name = n; i.value = v; f.appendChild(i); };
		add("csrf", document.querySelector('header input[name="csrf"]').value); add("op", "tag"); add("version", "v1"); add("tag", "guest-tag");
		document.body.appendChild(f); f.submit(); })()`), chromedp.WaitVisible(chromedp.CSS("#message")))
	assert.Contains(t, b.text("#message"), "Your role in project proj does not allow push")
	assert.NotContains(t, f.tags("proj", "rt", "v1"), "guest-tag")
	b.shot("guest-refused")
	b.signOut()

	// the admin signs in with a token and sees the users
	b.signIn("admin", "", "swt_admin-0123456789abcdef")
	b.open("/users")
	users := b.text("#users")
	for _, u := range []string{"admin", "olive", "mike", "gus", "otto"} {
		assert.Contains(t, users, u)
	}
	b.shot("users")
	b.open("/projects")
	assert.True(t, strings.Contains(b.text("#projects"), "secret"), "the admin sees every project")
	b.shot("admin-projects")

	// a narrow screen: the layout fits without horizontal page scroll
	b.run("narrow", chromedp.EmulateViewport(380, 800))
	b.open("/projects/proj/runtimes/rt/versions/" + f.v1.Short)
	overflow := evalJS[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`)
	assert.False(t, overflow, "the page is readable on a narrow screen")
	b.shot("version-narrow")
}
