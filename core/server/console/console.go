package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what a console is made of.
type Config struct {
	// Accounts decides who may do what and keeps users, tokens and
	// projects. Required.
	Accounts server.Accounts
	// Registry holds the runtimes. Required.
	Registry *registry.Registry
	// Log receives errors that are not the visitor's fault.
	Log hclog.Logger
	// SessionTTL is how long a sign-in lasts; 12h when zero.
	SessionTTL time.Duration
}

// csp is the Content-Security-Policy of every response: nothing inline,
// nothing from elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// summaryCacheSize bounds the cached version summaries (see summary).
const summaryCacheSize = 2048

// Console is the console's http.Handler.
type Console struct {
	acc   server.Accounts
	reg   *registry.Registry
	log   hclog.Logger
	ttl   time.Duration
	pages map[string]*template.Template
	mux   *http.ServeMux
	cache *lru.Cache[digest.Digest, *summary]
}

// New checks cfg, parses the templates and returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Accounts == nil || cfg.Registry == nil {
		return nil, errors.New("console: Accounts and Registry are required")
	}
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	cache, err := lru.New[digest.Digest, *summary](summaryCacheSize)
	if err != nil {
		return nil, err
	}
	c := &Console{acc: cfg.Accounts, reg: cfg.Registry, log: cfg.Log, ttl: cfg.SessionTTL, cache: cache}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// handlerFunc serves one page for a visitor and returns an error that
// writeError turns into a page (see errors.go); nil when it wrote.
type handlerFunc func(w http.ResponseWriter, r *http.Request, v *visitor) error

func (c *Console) routes() {
	c.mux = http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	routes := map[string]handlerFunc{
		"GET /{$}":                         func(w http.ResponseWriter, r *http.Request, _ *visitor) error { return redirect(w, r, "/projects") },
		"GET /login":                       c.loginPage,
		"POST /login":                      c.login,
		"GET /logout":                      c.logoutPage,
		"POST /logout":                     c.logout,
		"GET /projects":                    c.projectsPage,
		"GET /users":                       c.usersPage,
		"POST /users":                      c.usersPost,
		"GET /tokens":                      c.tokensPage,
		"POST /tokens":                     c.tokensPost,
		"GET /projects/{project}":          c.runtimesPage,
		"GET /projects/{project}/members":  c.membersPage,
		"POST /projects/{project}/members": c.membersPost,
		"GET /projects/{project}/runtimes/{runtime}":                             c.versionsPage,
		"POST /projects/{project}/runtimes/{runtime}":                            c.versionsPost,
		"GET /projects/{project}/runtimes/{runtime}/compare":                     c.comparePage,
		"GET /projects/{project}/runtimes/{runtime}/versions/{version}":          c.versionPage,
		"GET /projects/{project}/runtimes/{runtime}/versions/{version}/download": c.download,
	}
	for pattern, fn := range routes {
		c.mux.Handle(pattern, c.handle(fn))
	}
	c.mux.Handle("/", c.handle(func(http.ResponseWriter, *http.Request, *visitor) error { return errNotFound }))
}

// ServeHTTP sets the security headers and serves the request. Its
// credentials and roles are read fresh (server.Fresh): a sign-out, revoke or
// role change on any server of the store counts on the next page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(server.Fresh(r.Context()))
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// handle reads the session, checks the CSRF token of a POST and runs fn.
func (c *Console) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		v, err := c.visitor(w, r)
		if err == nil && r.Method == http.MethodPost {
			err = c.checkCSRF(r, v)
		}
		if err == nil {
			err = fn(w, r, v)
		}
		if err != nil {
			c.writeError(w, r, v, err)
		}
	})
}

// page is what every template gets.
type page struct {
	Title  string
	V      *visitor
	Crumbs []crumb
	// Notice is a fixed message after a change (see notices).
	Notice string
	Data   any
}

type crumb struct{ Name, URL string }

// render executes a page template into a buffer first, so a template error
// never leaves half a page.
func (c *Console) render(w http.ResponseWriter, status int, name string, p page) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("console: no template %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// redirect answers 303 See Other, so a reload does not post again.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// authorize asks Accounts whether v may do a in project; every refusal
// and a missing project become errNotFound for reading (names never
// leak), and a *refusal for the other actions of a visitor who may read.
func (c *Console) authorize(ctx context.Context, v *visitor, project string, a server.Action) error {
	if err := c.acc.Authorize(ctx, v.P, project, server.ActionPull); err != nil {
		return hide(err)
	}
	if a == server.ActionPull {
		return nil
	}
	if err := c.acc.Authorize(ctx, v.P, project, a); err != nil {
		if errors.Is(err, server.ErrForbidden) || errors.Is(err, server.ErrUnauthenticated) {
			return &refusal{project: project, action: a, anonymous: v.P.Anonymous()}
		}
		return err
	}
	return nil
}
