package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/swcli/swcli/core/server"
)

// Client is a small typed client of a swcli server's JSON API (/api/v1/;
// the README's "Cloud instance" section lists the routes). No kept library
// speaks this API, so it is written here; it is plain net/http and JSON.
// The token is sent as a Bearer header and never appears in an error.
type Client struct {
	// Base is the server's URL (http(s)://host[:port]).
	Base string
	// Name is how errors name the instance (its alias or URL).
	Name string
	// Token, or User and Password, authenticate; all empty is anonymous.
	Token, User, Password string
	// HTTP is the transport (http.DefaultClient when nil).
	HTTP *http.Client
}

// APIError is an answer of the server that is not a success: its status,
// error code and message (never a credential).
type APIError struct {
	Instance string
	Status   int
	Code     string
	Message  string
}

func (e *APIError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return fmt.Sprintf("instance %s: the credentials were refused (wrong, revoked or expired token, or wrong password); log in again: swcli instance login", e.Instance)
	}
	return fmt.Sprintf("instance %s: %s", e.Instance, e.Message)
}

// UnreachableError says the server did not answer at all.
type UnreachableError struct {
	Instance string
	URL      string
	Err      error
}

func (e *UnreachableError) Error() string {
	msg := e.Err.Error()
	var op *net.OpError
	if errors.As(e.Err, &op) && op.Err != nil {
		msg = op.Err.Error()
	}
	return fmt.Sprintf("instance %s: cannot reach %s: %s", e.Instance, e.URL, msg)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Do sends a JSON request to path (under /api/v1) and decodes a 2xx answer
// into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.Password != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{Instance: c.Name, URL: c.Base, Err: stripURL(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("instance %s: %s %s: %w", c.Name, method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			// Not a swcli server answering (a proxy, another program).
			return &APIError{Instance: c.Name, Status: resp.StatusCode, Code: "http",
				Message: fmt.Sprintf("%s %s answered %s; is %s a swcli server?", method, path, resp.Status, c.Base)}
		}
		return &APIError{Instance: c.Name, Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("instance %s: %s %s: bad answer: %v", c.Name, method, path, err)
		}
	}
	return nil
}

// stripURL drops the request URL from a transport error (it carries no
// secret, but the message reads better without it).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// The server's own types, as its JSON API answers them.
type (
	User    = server.User
	Token   = server.Token
	Project = server.Project
	Member  = server.Member
)

// Whoami is who the credentials are.
type Whoami struct {
	User  string `json:"user"`
	Admin bool   `json:"admin"`
}

func (c *Client) Whoami(ctx context.Context) (Whoami, error) {
	var w Whoami
	return w, c.Do(ctx, "GET", "/whoami", nil, &w)
}

// CreatedUser is a new user and its first token (shown once).
type CreatedUser struct {
	User  User   `json:"user"`
	Token string `json:"token"`
}

func (c *Client) CreateUser(ctx context.Context, name, password string, admin bool) (CreatedUser, error) {
	var out CreatedUser
	in := map[string]any{"name": name, "admin": admin}
	if password != "" {
		in["password"] = password
	}
	return out, c.Do(ctx, "POST", "/users", in, &out)
}

func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	return out, c.Do(ctx, "GET", "/users", nil, &out)
}

func (c *Client) SetPassword(ctx context.Context, user, password string) error {
	return c.Do(ctx, "PUT", "/users/"+esc(user)+"/password", map[string]string{"password": password}, nil)
}

// CreatedToken is a new token with its secret (shown once).
type CreatedToken struct {
	Token
	Secret string `json:"token"`
}

func (c *Client) CreateToken(ctx context.Context, name, expiresIn string) (CreatedToken, error) {
	var out CreatedToken
	in := map[string]string{"name": name}
	if expiresIn != "" {
		in["expires_in"] = expiresIn
	}
	return out, c.Do(ctx, "POST", "/tokens", in, &out)
}

func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	var out []Token
	return out, c.Do(ctx, "GET", "/tokens", nil, &out)
}

func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/tokens/"+esc(id), nil, nil)
}

func (c *Client) CreateProject(ctx context.Context, name string, public bool) (Project, error) {
	var out Project
	return out, c.Do(ctx, "POST", "/projects", map[string]any{"name": name, "public": public}, &out)
}

func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	var out []Project
	return out, c.Do(ctx, "GET", "/projects", nil, &out)
}

func (c *Client) ProjectInfo(ctx context.Context, name string) (Project, error) {
	var out Project
	return out, c.Do(ctx, "GET", "/projects/"+esc(name), nil, &out)
}

func (c *Client) SetMember(ctx context.Context, project, user, role string) error {
	return c.Do(ctx, "PUT", "/projects/"+esc(project)+"/members/"+esc(user), map[string]string{"role": role}, nil)
}

func (c *Client) RemoveMember(ctx context.Context, project, user string) error {
	return c.Do(ctx, "DELETE", "/projects/"+esc(project)+"/members/"+esc(user), nil, nil)
}
