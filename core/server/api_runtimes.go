package server

import (
	"net/http"

	"github.com/swcli/swcli/core/registry"
)

// runtimeArgs authorizes act on the project in the path and validates the
// runtime name.
func (a *api) runtimeArgs(r *http.Request, p Principal, act Action) (project, name string, err error) {
	if project, err = a.projectArg(r, p, act); err != nil {
		return "", "", err
	}
	name = r.PathValue("runtime")
	return project, name, checkName("runtime", name)
}

// readArgs authorizes a pull from the project in the path, validates the
// runtime name (when the route has one) and reads ?removed.
func (a *api) readArgs(r *http.Request, p Principal) (project, name string, removed bool, err error) {
	if r.PathValue("runtime") == "" {
		project, err = a.projectArg(r, p, ActionPull)
	} else {
		project, name, err = a.runtimeArgs(r, p, ActionPull)
	}
	if err != nil {
		return "", "", false, err
	}
	removed, err = flag(r, "removed")
	return project, name, removed, err
}

func (a *api) listRuntimes(r *http.Request, p Principal) (int, any, error) {
	project, _, removed, err := a.readArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	return answer(a.reg.ListRuntimes(r.Context(), project, removed))
}

func (a *api) listVersions(r *http.Request, p Principal) (int, any, error) {
	project, name, removed, err := a.readArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	return answer(a.reg.ListVersions(r.Context(), project, name, removed))
}

func (a *api) versionInfo(r *http.Request, p Principal) (int, any, error) {
	project, name, removed, err := a.readArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	var opts []registry.ResolveOption
	if removed {
		opts = append(opts, registry.IncludeRemoved())
	}
	return answer(a.reg.Resolve(r.Context(), project, name, r.PathValue("version"), opts...))
}

// removeArgs authorizes a removal from the project in the path, validates
// the runtime name and reads ?force.
func (a *api) removeArgs(r *http.Request, p Principal) (project, name string, force bool, err error) {
	if project, name, err = a.runtimeArgs(r, p, ActionDelete); err != nil {
		return "", "", false, err
	}
	force, err = flag(r, "force")
	return project, name, force, err
}

func (a *api) removeVersion(r *http.Request, p Principal) (int, any, error) {
	project, name, force, err := a.removeArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	if err := a.reg.Remove(r.Context(), project, name, r.PathValue("version"), force); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// removeRuntime removes every version of a runtime as one operation
// (registry.RemoveRuntime: no reader sees part of it, a cut-short removal
// is finished by the next request) and answers the versions removed.
func (a *api) removeRuntime(r *http.Request, p Principal) (int, any, error) {
	project, name, force, err := a.removeArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	return answer(a.reg.RemoveRuntime(r.Context(), project, name, force))
}

func (a *api) recoverVersion(r *http.Request, p Principal) (int, any, error) {
	project, name, err := a.runtimeArgs(r, p, ActionDelete)
	if err != nil {
		return 0, nil, err
	}
	return answer(a.reg.Recover(r.Context(), project, name, r.PathValue("version")))
}

type addTagsRequest struct {
	Tags  []string `json:"tags"`
	Force bool     `json:"force"`
}

func (a *api) addTags(r *http.Request, p Principal) (int, any, error) {
	project, name, err := a.runtimeArgs(r, p, ActionPush)
	if err != nil {
		return 0, nil, err
	}
	var req addTagsRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if len(req.Tags) == 0 {
		return 0, nil, badRequest(`no tags given; send {"tags": ["TAG", ...]}`)
	}
	ref := r.PathValue("version")
	if err := a.reg.Tag(r.Context(), project, name, ref, req.Tags, req.Force); err != nil {
		return 0, nil, err
	}
	return answer(a.reg.Resolve(r.Context(), project, name, ref))
}

func (a *api) removeTag(r *http.Request, p Principal) (int, any, error) {
	project, name, err := a.runtimeArgs(r, p, ActionDelete)
	if err != nil {
		return 0, nil, err
	}
	if err := a.reg.Untag(r.Context(), project, name, []string{r.PathValue("tag")}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
