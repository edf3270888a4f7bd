package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/swcli/swcli/core/server"
)

// The account pages: a project's members and visibility (owners change
// them), users (admins), your tokens.

type membersData struct {
	Project   server.Project
	CanManage bool
	Roles     []server.Role
}

func (c *Console) membersPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionPull)
	if err != nil {
		return err
	}
	d := membersData{Project: p, CanManage: c.acc.Authorize(r.Context(), v.P, p.Name, server.ActionManage) == nil,
		Roles: []server.Role{server.RoleGuest, server.RoleMaintainer, server.RoleOwner}}
	return c.render(w, http.StatusOK, "members", page{Title: p.Name + " members", V: v, Notice: notice(r),
		Crumbs: projectCrumbs(p.Name, crumb{"members", projectURL(p.Name) + "/members"}), Data: d})
}

// membersPost: op set (user, role), remove (user) or public (public=1|0).
func (c *Console) membersPost(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p, err := c.project(r, v, server.ActionManage)
	if err != nil {
		return err
	}
	f := r.PostForm
	user := strings.TrimSpace(f.Get("user"))
	done := "member"
	switch f.Get("op") {
	case "set":
		role := server.Role(f.Get("role"))
		if !role.Valid() {
			return badInput("Role %q is not a role; %s.", role, server.RoleRule)
		}
		_, err = c.acc.SetMember(r.Context(), p.Name, user, role)
	case "remove":
		_, err = c.acc.RemoveMember(r.Context(), p.Name, user)
	case "public":
		_, err = c.acc.SetPublic(r.Context(), p.Name, f.Get("public") == "1")
		done = "public"
	default:
		return badInput("Unknown change %q; allowed: set, remove, public.", f.Get("op"))
	}
	if err != nil {
		return changeError(err)
	}
	return redirect(w, r, projectURL(p.Name)+"/members?done="+done)
}

type usersData struct {
	Users []server.User
	// NewUser and NewToken are shown once, right after creating the user.
	NewUser, NewToken string
}

// admin refuses everyone but admins with the same 404 as a hidden project.
func admin(v *visitor) error {
	if !v.P.Admin {
		return errNotFound
	}
	return nil
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := admin(v); err != nil {
		return err
	}
	return c.renderUsers(w, r, v, usersData{})
}

func (c *Console) renderUsers(w http.ResponseWriter, r *http.Request, v *visitor, d usersData) error {
	var err error
	if d.Users, err = c.acc.ListUsers(r.Context()); err != nil {
		return err
	}
	status := http.StatusOK
	if d.NewToken != "" {
		status = http.StatusCreated
	}
	return c.render(w, status, "users", page{Title: "Users", V: v, Notice: notice(r), Data: d})
}

// usersPost: op create (name, password, admin) or delete (name).
func (c *Console) usersPost(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := admin(v); err != nil {
		return err
	}
	f := r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	switch f.Get("op") {
	case "create":
		u, token, err := c.acc.CreateUser(r.Context(), name, f.Get("admin") == "1", f.Get("password"))
		if err != nil {
			return changeError(err)
		}
		return c.renderUsers(w, r, v, usersData{NewUser: u.Name, NewToken: token})
	case "delete":
		if name == v.P.User {
			return badInput("You cannot delete yourself while signed in as %s.", name)
		}
		if err := c.acc.DeleteUser(r.Context(), name); err != nil {
			return changeError(err)
		}
		return redirect(w, r, "/users?done=deluser")
	}
	return badInput("Unknown change %q; allowed: create, delete.", f.Get("op"))
}

type tokensData struct {
	Tokens, Sessions []server.Token
	Current          string
	NewName          string
	NewToken         string
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if v.P.Anonymous() {
		return &refusal{action: server.ActionManage, anonymous: true, project: ""}
	}
	return c.renderTokens(w, r, v, tokensData{})
}

func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, v *visitor, d tokensData) error {
	all, err := c.acc.ListTokens(r.Context(), v.P.User)
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.Name == sessionTokenName {
			d.Sessions = append(d.Sessions, t)
		} else {
			d.Tokens = append(d.Tokens, t)
		}
	}
	d.Current = v.tokenID
	status := http.StatusOK
	if d.NewToken != "" {
		status = http.StatusCreated
	}
	return c.render(w, status, "tokens", page{Title: "Tokens", V: v, Notice: notice(r), Data: d})
}

// tokensPost: op create (name, days: 0 never expires) or revoke (id).
func (c *Console) tokensPost(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if v.P.Anonymous() {
		return &refusal{action: server.ActionManage, anonymous: true}
	}
	f := r.PostForm
	switch f.Get("op") {
	case "create":
		name := strings.TrimSpace(f.Get("name"))
		if name == sessionTokenName {
			return badInput("Token name %q is kept for console sessions; choose another.", name)
		}
		var expires time.Time
		if s := strings.TrimSpace(f.Get("days")); s != "" && s != "0" {
			days, err := strconv.Atoi(s)
			if err != nil || days < 0 || days > 3650 {
				return badInput("Days %q is not a number of days; allowed: 0 (never expires) to 3650.", s)
			}
			expires = time.Now().Add(time.Duration(days) * 24 * time.Hour)
		}
		t, token, err := c.acc.CreateToken(r.Context(), v.P.User, name, expires)
		if err != nil {
			return changeError(err)
		}
		return c.renderTokens(w, r, v, tokensData{NewName: t.Name, NewToken: token})
	case "revoke":
		id := strings.TrimSpace(f.Get("id"))
		if err := c.acc.RevokeToken(r.Context(), v.P.User, id); err != nil {
			if errors.Is(err, server.ErrNotFound) {
				return &inputError{Status: http.StatusNotFound, Msg: "You have no token " + id + "."}
			}
			return changeError(err)
		}
		if id == v.tokenID {
			clearCookie(w, r, sessionCookie)
			return redirect(w, r, "/login?done=signout")
		}
		return redirect(w, r, "/tokens?done=revoke")
	}
	return badInput("Unknown change %q; allowed: create, revoke.", f.Get("op"))
}
