package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
)

// mapped keeps the server's own one-line message while matching the typed
// error of core/registry the instance contract names (errors.As).
type mapped struct {
	msg   string
	typed error
}

func (e *mapped) Error() string { return e.msg }
func (e *mapped) Unwrap() error { return e.typed }

// apiErr maps an /api/v1 answer onto core/registry's typed errors.
func (in *Instance) apiErr(err error, project, name, ref string, tags []string) error {
	var ae *APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	msg := ae.Error()
	switch {
	case ae.Status == http.StatusNotFound && name != "" && ae.Message != "project "+project+" not found":
		return &mapped{msg, &registry.NotFoundError{Project: project, Name: name, Ref: ref}}
	case ae.Status == http.StatusConflict && len(tags) > 0:
		return &mapped{msg, &registry.TagExistsError{Project: project, Name: name, Tag: strings.Join(tags, ",")}}
	case ae.Status == http.StatusConflict && strings.Contains(ae.Message, "not removed"):
		return &mapped{msg, &registry.NotRemovedError{Project: project, Name: name, Ref: ref}}
	}
	return err
}

// blobErr maps a blob lookup's failure: not found is BlobUnknownError.
func (in *Instance) blobErr(err error, d digest.Digest) error {
	if errors.Is(err, errdef.ErrNotFound) || statusOf(err) == http.StatusNotFound {
		return &registry.BlobUnknownError{Digest: d}
	}
	return in.wrap(err)
}

// ociErr maps a /v2 failure for a version (ref) of runtime name.
func (in *Instance) ociErr(err error, project, name, ref string) error {
	if errors.Is(err, errdef.ErrNotFound) || statusOf(err) == http.StatusNotFound {
		return in.notFound(project, name, ref)
	}
	return in.wrap(err)
}

// notFound is *registry.NotFoundError; an OCI namespace instance says
// which repository (it has no projects).
func (in *Instance) notFound(project, name, ref string) error {
	nf := &registry.NotFoundError{Project: project, Name: name, Ref: ref}
	if !in.flat {
		return nf
	}
	msg := fmt.Sprintf("instance %s: repository %s not found", in.name, in.repoPath(project, name))
	if ref != "" {
		msg = fmt.Sprintf("instance %s: repository %s has no tag or version %s", in.name, in.repoPath(project, name), ref)
	}
	return &mapped{msg, nf}
}

// errorResponse reads a registry's error answer as an
// errcode.ErrorResponse (as oras reports them), so callers map it as they
// map oras' (Instance.wrap). It does not close resp.Body.
func errorResponse(resp *http.Response) error {
	er := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	var body struct{ Errors errcode.Errors }
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) == nil {
		er.Errors = body.Errors
	}
	return er
}

func statusOf(err error) int {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode
	}
	return 0
}

// wrap gives a /v2 failure one clear line: refused credentials, an
// artifact the registry will not take, a digest the registry disagrees
// with, an unreachable host; anything else names the instance.
func (in *Instance) wrap(err error) error {
	if err == nil {
		return nil
	}
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		codes := make([]string, 0, len(er.Errors))
		msgs := make([]string, 0, len(er.Errors))
		for _, e := range er.Errors {
			codes = append(codes, e.Code)
			msgs = append(msgs, e.Message)
		}
		detail := strings.Join(msgs, "; ")
		switch {
		case er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden:
			how := "log in again: swcli instance login"
			if in.api == nil {
				how = "check the registry's entry in the Docker config (docker login / oras login)"
			}
			return fmt.Errorf("instance %s: the credentials were refused (%d %s); %s", in.name, er.StatusCode, http.StatusText(er.StatusCode), how)
		case contains(codes, "DIGEST_INVALID"):
			return &mapped{fmt.Sprintf("instance %s: digest mismatch on the wire: %s", in.name, detail), &registry.DigestMismatchError{}}
		case contains(codes, "MANIFEST_INVALID", "UNSUPPORTED") || er.StatusCode == http.StatusUnsupportedMediaType:
			return fmt.Errorf("instance %s: the registry rejects this artifact (an OCI image manifest of artifactType "+bundle.ArtifactType+"): %s", in.name, orStatus(detail, er.StatusCode))
		}
		return fmt.Errorf("instance %s: %s %s: %s", in.name, er.Method, er.URL.Path, orStatus(detail, er.StatusCode))
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return fmt.Errorf("instance %s: the credentials were refused: the registry wants a login and the Docker config has none for %s (docker login / oras login %s)", in.name, in.host, in.host)
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ue) {
		return &UnreachableError{Instance: in.name, URL: in.base, Err: stripURL(err)}
	}
	return fmt.Errorf("instance %s: %w", in.name, err)
}

func orStatus(detail string, status int) string {
	if detail != "" {
		return detail
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

func contains(have []string, want ...string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}
