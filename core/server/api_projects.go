package server

import (
	"context"
	"errors"
	"net/http"
)

// authorize asks Access whether p may do act in project and turns the
// answer into what the API says: a caller who may not even pull gets the
// same 404 as for a project that does not exist (401 when anonymous), so
// names do not leak; one who may pull but lacks the role gets 403.
func (a *api) authorize(ctx context.Context, p Principal, project string, act Action) error {
	if err := checkName("project", project); err != nil {
		return err
	}
	err := a.acc.Authorize(ctx, p, project, act)
	if !errors.Is(err, ErrForbidden) {
		return err
	}
	if act != ActionPull && a.acc.Authorize(ctx, p, project, ActionPull) == nil {
		return err
	}
	return &apiError{http.StatusNotFound, "not_found", "project " + project + " not found"}
}

// projectArg authorizes act on the project named in the path.
func (a *api) projectArg(r *http.Request, p Principal, act Action) (string, error) {
	project := r.PathValue("project")
	return project, a.authorize(r.Context(), p, project, act)
}

func (a *api) listProjects(r *http.Request, p Principal) (int, any, error) {
	ps, err := a.acc.ListProjects(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	if p.Anonymous() {
		for i := range ps {
			ps[i].Members = []Member{}
		}
	}
	return http.StatusOK, ps, nil
}

type createProjectRequest struct {
	Name   string `json:"name"`
	Public bool   `json:"public"`
}

func (a *api) createProject(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	var req createProjectRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkName("project", req.Name); err != nil {
		return 0, nil, err
	}
	proj, err := a.acc.CreateProject(r.Context(), req.Name, p.User, req.Public)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, proj, nil
}

func (a *api) projectInfo(r *http.Request, p Principal) (int, any, error) {
	name, err := a.projectArg(r, p, ActionPull)
	if err != nil {
		return 0, nil, err
	}
	proj, err := a.acc.Project(r.Context(), name)
	if err != nil {
		return 0, nil, err
	}
	if p.Anonymous() {
		proj.Members = []Member{}
	}
	return http.StatusOK, proj, nil
}

type updateProjectRequest struct {
	Public *bool `json:"public"`
}

func (a *api) updateProject(r *http.Request, p Principal) (int, any, error) {
	name, err := a.projectArg(r, p, ActionManage)
	if err != nil {
		return 0, nil, err
	}
	var req updateProjectRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Public == nil {
		return 0, nil, badRequest(`nothing to change; send {"public": true|false}`)
	}
	return answer(a.acc.SetPublic(r.Context(), name, *req.Public))
}

func (a *api) deleteProject(r *http.Request, p Principal) (int, any, error) {
	name, err := a.projectArg(r, p, ActionManage)
	if err != nil {
		return 0, nil, err
	}
	err = a.acc.DeleteProject(r.Context(), name, func(ctx context.Context) (bool, error) {
		rts, err := a.reg.ListRuntimes(ctx, name, true)
		return len(rts) == 0, err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *api) listMembers(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	name, err := a.projectArg(r, p, ActionPull)
	if err != nil {
		return 0, nil, err
	}
	return members(a.acc.Project(r.Context(), name))
}

type setMemberRequest struct {
	Role Role `json:"role"`
}

// memberArgs authorizes managing the project in the path and validates
// the user name.
func (a *api) memberArgs(r *http.Request, p Principal) (project, user string, err error) {
	if project, err = a.projectArg(r, p, ActionManage); err != nil {
		return "", "", err
	}
	user = r.PathValue("user")
	return project, user, checkName("user", user)
}

// members answers a project's members.
func members(proj Project, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, proj.Members, nil
}

func (a *api) setMember(r *http.Request, p Principal) (int, any, error) {
	name, user, err := a.memberArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	var req setMemberRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return members(a.acc.SetMember(r.Context(), name, user, req.Role))
}

func (a *api) removeMember(r *http.Request, p Principal) (int, any, error) {
	name, user, err := a.memberArgs(r, p)
	if err != nil {
		return 0, nil, err
	}
	return members(a.acc.RemoveMember(r.Context(), name, user))
}
