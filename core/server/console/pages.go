package console

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
)

// The read-only pages: projects, runtimes, versions, a version, compare,
// download.

func (c *Console) projectsPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	ps, err := c.acc.ListProjects(r.Context(), v.P)
	if err != nil {
		return err
	}
	var out []projectInfo
	for _, p := range ps {
		rts, size, err := c.projectRuntimes(r.Context(), p.Name)
		if err != nil {
			return err
		}
		out = append(out, projectInfo{Name: p.Name, Public: p.Public, Role: v.role(p), Runtimes: rts, Size: size})
	}
	return c.render(w, http.StatusOK, "projects", page{Title: "Projects", V: v, Notice: notice(r), Data: out})
}

func projectCrumbs(project string, more ...crumb) []crumb {
	return append([]crumb{{"Projects", "/projects"}, {project, projectURL(project)}}, more...)
}

func runtimeCrumbs(project, name string, more ...crumb) []crumb {
	return projectCrumbs(project, append([]crumb{{name, runtimeURL(project, name)}}, more...)...)
}

// project authorizes reading project and returns it.
func (c *Console) project(r *http.Request, v *visitor, a server.Action) (server.Project, error) {
	name := r.PathValue("project")
	if err := c.authorize(r.Context(), v, name, a); err != nil {
		return server.Project{}, err
	}
	p, err := c.acc.Project(r.Context(), name)
	if err != nil {
		return p, hide(err)
	}
	return p, nil
}

type runtimesData struct {
	Project   server.Project
	Role      string
	Runtimes  []*runtimeInfo
	CanManage bool
}

func (c *Console) runtimesPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionPull)
	if err != nil {
		return err
	}
	rts, _, err := c.projectRuntimes(r.Context(), p.Name)
	if err != nil {
		return err
	}
	d := runtimesData{Project: p, Role: v.role(p), Runtimes: rts,
		CanManage: c.acc.Authorize(r.Context(), v.P, p.Name, server.ActionManage) == nil}
	return c.render(w, http.StatusOK, "runtimes", page{Title: p.Name, V: v, Notice: notice(r),
		Crumbs: projectCrumbs(p.Name), Data: d})
}

type versionsData struct {
	*runtimeInfo
	CanChange, ShowRemoved bool
}

func (c *Console) versionsPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionPull)
	if err != nil {
		return err
	}
	removed := r.URL.Query().Get("removed") == "1"
	ri, err := c.runtime(r.Context(), p.Name, r.PathValue("runtime"), removed)
	if err != nil {
		return err
	}
	d := versionsData{runtimeInfo: ri, ShowRemoved: removed,
		CanChange: c.acc.Authorize(r.Context(), v.P, p.Name, server.ActionPush) == nil}
	return c.render(w, http.StatusOK, "versions", page{Title: ri.Name, V: v, Notice: notice(r),
		Crumbs: runtimeCrumbs(p.Name, ri.Name), Data: d})
}

type versionData struct {
	*versionInfo
	CanChange bool
}

func (c *Console) versionPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionPull)
	if err != nil {
		return err
	}
	vi, err := c.version(r.Context(), p.Name, r.PathValue("runtime"), r.PathValue("version"))
	if err != nil {
		return err
	}
	uri := fmt.Sprintf("project/%s/runtime/%s/version/%s", vi.Project, vi.Name, vi.Short)
	vi.Copy = fmt.Sprintf("swcli runtime copy %s/%s local/project/self", baseURL(r), uri)
	vi.Restore = fmt.Sprintf("swcli runtime restore %s/version/%s", vi.Name, vi.Short)
	vi.Download = versionURL(vi.Project, vi.Name, vi.Short) + "/download"
	vi.Import = fmt.Sprintf("swcli runtime copy ./%s local/project/self", swrtName(vi.Version))
	d := versionData{versionInfo: vi, CanChange: c.acc.Authorize(r.Context(), v.P, p.Name, server.ActionPush) == nil}
	return c.render(w, http.StatusOK, "version", page{Title: vi.Name + " " + vi.Short, V: v, Notice: notice(r),
		Crumbs: runtimeCrumbs(p.Name, vi.Name, crumb{vi.Short, versionURL(vi.Project, vi.Name, vi.Short)}), Data: d})
}

// baseURL is the instance address as the visitor reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (c *Console) comparePage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionPull)
	if err != nil {
		return err
	}
	name := r.PathValue("runtime")
	q := r.URL.Query()
	if q.Get("a") == "" || q.Get("b") == "" {
		if _, err := c.runtime(r.Context(), p.Name, name, false); err != nil {
			return err
		}
		return badInput("Compare needs two versions: ?a=V1&b=V2 (a version, tag or 4+ hex prefix each).")
	}
	cmp, err := c.compare(r.Context(), p.Name, name, q.Get("a"), q.Get("b"))
	if err != nil {
		return err
	}
	return c.render(w, http.StatusOK, "compare", page{Title: "Compare " + cmp.A.Version.Short + " and " + cmp.B.Version.Short,
		V: v, Crumbs: runtimeCrumbs(p.Name, name, crumb{"compare", r.URL.RequestURI()}), Data: cmp})
}

// download streams the version as a .swrt (core/bundle's WriteSWRT over
// the registry's blobs). A failure after the first byte can only be logged:
// the client sees a truncated file, which ReadSWRT refuses.
func (c *Console) download(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionPull)
	if err != nil {
		return err
	}
	ver, err := c.resolve(r.Context(), p.Name, r.PathValue("runtime"), r.PathValue("version"))
	if err != nil {
		return err
	}
	raw, err := c.reg.Manifest(r.Context(), ver)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, swrtName(ver)))
	open := func(d digest.Digest) (io.ReadCloser, int64, error) { return c.reg.GetBlob(r.Context(), d) }
	var opts bundle.WriteOptions
	if ver.Number >= 0 {
		opts.RefName = fmt.Sprintf("v%d", ver.Number)
	}
	if err := bundle.WriteSWRT(w, raw, open, opts); err != nil {
		c.log.Error("download cut off", "project", ver.Project, "runtime", ver.Name, "version", ver.Short, "error", err)
	}
	return nil
}

// swrtName is the file name a download gets.
func swrtName(v registry.Version) string { return v.Name + "-" + v.Short + ".swrt" }

func projectURL(p string) string { return "/projects/" + url.PathEscape(p) }
func runtimeURL(p, n string) string {
	return projectURL(p) + "/runtimes/" + url.PathEscape(n)
}
func versionURL(p, n, v string) string { return runtimeURL(p, n) + "/versions/" + url.PathEscape(v) }

// The changes: tag, untag, remove, recover (maintainers), members and
// visibility (owners).

// versionsPost applies one change to a version: op is tag, untag, remove
// or recover; version is a version, tag or prefix; tag the tag.
func (c *Console) versionsPost(w http.ResponseWriter, r *http.Request, v *visitor) error {
	f := r.PostForm
	op := f.Get("op")
	a := server.ActionPush
	if op == "remove" || op == "recover" {
		a = server.ActionDelete
	}
	p, err := c.project(r, v, a)
	if err != nil {
		return err
	}
	name := r.PathValue("runtime")
	ctx := r.Context()
	if _, err := c.runtime(ctx, p.Name, name, true); err != nil {
		return err
	}
	ref, tag := strings.TrimSpace(f.Get("version")), strings.TrimSpace(f.Get("tag"))
	if ref == "" && op != "untag" {
		return badInput("Give the version to %s (a version, tag or 4+ hex prefix).", op)
	}
	switch op {
	case "tag":
		if tag == "" {
			return badInput("Give the tag to add.")
		}
		err = c.reg.Tag(ctx, p.Name, name, ref, []string{tag}, f.Get("force") == "1")
	case "untag":
		if tag == "" {
			return badInput("Give the tag to remove.")
		}
		err = c.reg.Untag(ctx, p.Name, name, []string{tag})
	case "remove":
		err = c.reg.Remove(ctx, p.Name, name, ref, f.Get("force") == "1")
	case "recover":
		_, err = c.reg.Recover(ctx, p.Name, name, ref)
	default:
		return badInput("Unknown change %q; allowed: tag, untag, remove, recover.", op)
	}
	if err != nil {
		return changeError(err)
	}
	back := runtimeURL(p.Name, name)
	if rt := f.Get("return"); rt == "version" && op != "remove" {
		if ver, err := c.resolve(ctx, p.Name, name, ref); err == nil {
			back = versionURL(p.Name, name, ver.Short)
		}
	}
	return redirect(w, r, back+"?done="+op)
}
