package server

import (
	"net/http"
	"time"
)

type whoamiResponse struct {
	User  string `json:"user"`
	Admin bool   `json:"admin"`
}

func (a *api) whoami(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, whoamiResponse{User: p.User, Admin: p.Admin}, nil
}

func (a *api) listUsers(r *http.Request, p Principal) (int, any, error) {
	if err := adminOnly(p); err != nil {
		return 0, nil, err
	}
	return answer(a.acc.ListUsers(r.Context()))
}

type createUserRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

// createdUser is the only answer that holds a user's first token.
type createdUser struct {
	User  User   `json:"user"`
	Token string `json:"token"`
}

func (a *api) createUser(r *http.Request, p Principal) (int, any, error) {
	if err := adminOnly(p); err != nil {
		return 0, nil, err
	}
	var req createUserRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkName("user", req.Name); err != nil {
		return 0, nil, err
	}
	u, token, err := a.acc.CreateUser(r.Context(), req.Name, req.Admin, req.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, createdUser{User: u, Token: token}, nil
}

type setPasswordRequest struct {
	Password string `json:"password"`
}

func (a *api) setPassword(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	user := r.PathValue("user")
	if err := checkName("user", user); err != nil {
		return 0, nil, err
	}
	if !p.Admin && p.User != user {
		return 0, nil, &apiError{http.StatusForbidden, "forbidden", "only an admin may set another user's password"}
	}
	var req setPasswordRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := a.acc.SetPassword(r.Context(), user, req.Password); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *api) deleteUser(r *http.Request, p Principal) (int, any, error) {
	if err := adminOnly(p); err != nil {
		return 0, nil, err
	}
	user := r.PathValue("user")
	if err := checkName("user", user); err != nil {
		return 0, nil, err
	}
	if user == p.User {
		return 0, nil, &apiError{http.StatusConflict, "conflict", "you cannot delete yourself; ask another admin"}
	}
	if err := a.acc.DeleteUser(r.Context(), user); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *api) listTokens(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	return answer(a.acc.ListTokens(r.Context(), p.User))
}

type createTokenRequest struct {
	Name string `json:"name"`
	// Expires (RFC 3339) or ExpiresIn (a Go duration such as "720h"); neither
	// means never.
	Expires   time.Time `json:"expires"`
	ExpiresIn string    `json:"expires_in"`
}

// createdToken is the only answer that holds a token's secret.
type createdToken struct {
	Token
	Secret string `json:"token"`
}

func (a *api) createToken(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	var req createTokenRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkName("token", req.Name); err != nil {
		return 0, nil, err
	}
	expires := req.Expires
	if req.ExpiresIn != "" {
		if !expires.IsZero() {
			return 0, nil, badRequest("give expires or expires_in, not both")
		}
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return 0, nil, badRequest("expires_in %q is not a positive duration; allowed: e.g. 24h, 720h", req.ExpiresIn)
		}
		expires = time.Now().Add(d)
	}
	t, secret, err := a.acc.CreateToken(r.Context(), p.User, req.Name, expires)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, createdToken{Token: t, Secret: secret}, nil
}

func (a *api) revokeToken(r *http.Request, p Principal) (int, any, error) {
	if err := signedIn(p); err != nil {
		return 0, nil, err
	}
	if err := a.acc.RevokeToken(r.Context(), p.User, r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
