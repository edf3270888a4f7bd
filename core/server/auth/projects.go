package auth

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/swcli/swcli/core/server"
)

// projectRecord is server.Project as stored.
type projectRecord = server.Project

// DefaultProject exists on every server (Bootstrap creates it).
const DefaultProject = "self"

func noProject(name string) error { return fail(server.ErrNoProject, "project %s not found", name) }

func (a *Auth) project(ctx context.Context, name string) (projectRecord, error) {
	var p projectRecord
	_, err := a.read(ctx, projectKey(name), &p)
	if isNotFound(err) {
		return p, noProject(name)
	}
	return p, err
}

// cachedProject is project through the cache (for Authorize, which only
// reads the record).
func (a *Auth) cachedProject(ctx context.Context, name string) (projectRecord, error) {
	if p, ok := a.cache.project(name); ok && !server.IsFresh(ctx) {
		return p, nil
	}
	gen := a.cache.generation()
	p, err := a.project(ctx, name)
	if err == nil {
		a.cache.addProject(gen, p)
	}
	return p, err
}

func nonNil(p server.Project) server.Project {
	if p.Members == nil {
		p.Members = []server.Member{}
	}
	return p
}

// Project implements server.Accounts.
func (a *Auth) Project(ctx context.Context, name string) (server.Project, error) {
	if err := checkName("project", name); err != nil {
		return server.Project{}, err
	}
	p, err := a.project(ctx, name)
	return nonNil(p), err
}

// ListProjects implements server.Accounts: the projects p may pull from.
func (a *Auth) ListProjects(ctx context.Context, p server.Principal) ([]server.Project, error) {
	recs, err := records[projectRecord](ctx, a, projectsPrefix)
	if err != nil {
		return nil, err
	}
	out := []server.Project{}
	for _, rec := range recs {
		if p.Admin || rec.Public || (!p.Anonymous() && rec.Role(p.User) != "") {
			out = append(out, nonNil(rec))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateProject implements server.Accounts.
func (a *Auth) CreateProject(ctx context.Context, name, owner string, public bool) (server.Project, error) {
	if err := checkName("project", name); err != nil {
		return server.Project{}, err
	}
	if _, err := a.user(ctx, owner); err != nil {
		return server.Project{}, err
	}
	rec := projectRecord{Name: name, Public: public, Created: a.now(),
		Members: []server.Member{{User: owner, Role: server.RoleOwner}}}
	err := a.create(ctx, projectKey(name), rec)
	if isPrecondition(err) {
		return server.Project{}, fail(server.ErrConflict, "project %s already exists", name)
	}
	if err != nil {
		return server.Project{}, fmt.Errorf("auth: create project %s: %w", name, err)
	}
	return rec, nil
}

// changeProject is a read-modify-write of an existing project.
func (a *Auth) changeProject(ctx context.Context, name string, change func(p *projectRecord) error) (server.Project, error) {
	if err := checkName("project", name); err != nil {
		return server.Project{}, err
	}
	p, err := update(ctx, a, projectKey(name), func(p *projectRecord, exists bool) (bool, error) {
		if !exists {
			return false, noProject(name)
		}
		return true, change(p)
	})
	return nonNil(p), err
}

// SetPublic implements server.Accounts.
func (a *Auth) SetPublic(ctx context.Context, name string, public bool) (server.Project, error) {
	return a.changeProject(ctx, name, func(p *projectRecord) error {
		p.Public = public
		return nil
	})
}

// DeleteProject implements server.Accounts.
func (a *Auth) DeleteProject(ctx context.Context, name string, empty func(context.Context) (bool, error)) error {
	if name == DefaultProject {
		return fail(server.ErrConflict, "project %s is the default project and cannot be deleted", name)
	}
	if _, err := a.Project(ctx, name); err != nil {
		return err
	}
	ok, err := empty(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fail(server.ErrConflict, "project %s still has runtimes (removed versions count too); remove them with force first", name)
	}
	if err := a.remove(ctx, projectKey(name)); err != nil {
		return fmt.Errorf("auth: delete project %s: %w", name, err)
	}
	return nil
}

// SetMember implements server.Accounts.
func (a *Auth) SetMember(ctx context.Context, project, user string, role server.Role) (server.Project, error) {
	if !role.Valid() {
		return server.Project{}, fail(server.ErrInvalid, "invalid role %q; %s", role, server.RoleRule)
	}
	if _, err := a.user(ctx, user); err != nil {
		return server.Project{}, err
	}
	return a.changeProject(ctx, project, func(p *projectRecord) error {
		p.Members = append(without(p.Members, user), server.Member{User: user, Role: role})
		sort.Slice(p.Members, func(i, j int) bool { return p.Members[i].User < p.Members[j].User })
		return checkOwner(*p)
	})
}

// RemoveMember implements server.Accounts.
func (a *Auth) RemoveMember(ctx context.Context, project, user string) (server.Project, error) {
	return a.changeProject(ctx, project, func(p *projectRecord) error {
		if p.Role(user) == "" {
			return fail(server.ErrNotFound, "user %s is not a member of project %s", user, project)
		}
		p.Members = without(p.Members, user)
		return checkOwner(*p)
	})
}

func checkOwner(p projectRecord) error {
	for _, m := range p.Members {
		if m.Role == server.RoleOwner {
			return nil
		}
	}
	return fail(server.ErrConflict, "project %s would have no owner; make another member owner first", p.Name)
}

func without(ms []server.Member, user string) []server.Member {
	out := make([]server.Member, 0, len(ms))
	for _, m := range ms {
		if m.User != user {
			out = append(out, m)
		}
	}
	return out
}

// AdminUser is the user Bootstrap creates.
const AdminUser = "admin"

// Bootstrap implements server.Accounts.
func (a *Auth) Bootstrap(ctx context.Context, adminToken string) (bool, error) {
	users, err := a.keys(ctx, usersPrefix)
	if err != nil {
		return false, err
	}
	created := false
	if len(users) == 0 {
		_, err := a.createUser(ctx, AdminUser, true, "", adminToken)
		switch {
		case errors.Is(err, server.ErrConflict):
			// another server created it at the same moment
		case err != nil:
			return false, fmt.Errorf("auth: bootstrap: %w", err)
		default:
			created = true
		}
	}
	if _, err := a.project(ctx, DefaultProject); errors.Is(err, server.ErrNoProject) {
		// Owned by an admin (admins may do everything anyway).
		rec := projectRecord{Name: DefaultProject, Created: a.now(), Members: []server.Member{}}
		if owner, err := a.anAdmin(ctx); err != nil {
			return created, err
		} else if owner != "" {
			rec.Members = []server.Member{{User: owner, Role: server.RoleOwner}}
		}
		if err := a.create(ctx, projectKey(DefaultProject), rec); err != nil && !isPrecondition(err) {
			return created, fmt.Errorf("auth: bootstrap: create project %s: %w", DefaultProject, err)
		}
	} else if err != nil {
		return created, err
	}
	return created, nil
}

// anAdmin returns the first admin user by name, or "".
func (a *Auth) anAdmin(ctx context.Context) (string, error) {
	users, err := a.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if u.Admin {
			return u.Name, nil
		}
	}
	return "", nil
}
