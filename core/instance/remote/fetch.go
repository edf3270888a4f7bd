package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	orasreg "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/swcli/swcli/core/registry"
)

// getFrom reads blob d of the current repository from byte offset on, in
// one ranged GET. (Written by hand: oras' seekable reader first GETs the
// whole blob and only then asks again for the range, after a HEAD, so a
// resumed download would pay three round trips and some bytes twice.) A
// registry that ignores the Range header answers 200 with the whole
// blob: the bytes before offset are skipped.
func (in *Instance) getFrom(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	repo := in.repoPath(in.project, in.rtName)
	ctx = auth.AppendRepositoryScope(ctx, orasreg.Reference{Registry: in.host, Repository: repo}, auth.ActionPull)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/v2/"+repo+"/blobs/"+d.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	resp, err := in.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, in.wrap(err)
	}
	fail := func(err error) (io.ReadCloser, error) {
		resp.Body.Close()
		return nil, err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != d.String() {
		return fail(&registry.DigestMismatchError{Expected: d, Actual: digest.Digest(got)})
	}
	var size int64
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			return fail(fmt.Errorf("instance %s: blob %s: asked for bytes %d on, the registry answered Content-Range %q", in.name, d, offset, resp.Header.Get("Content-Range")))
		}
		size = total
	case http.StatusOK:
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			return fail(in.wrap(err))
		}
		size = resp.ContentLength
	case http.StatusRequestedRangeNotSatisfiable:
		return fail(fmt.Errorf("instance %s: blob %s is shorter than the %d bytes already received", in.name, d, offset))
	default:
		defer resp.Body.Close()
		return nil, in.blobErr(errorResponse(resp), d)
	}
	var rc io.ReadCloser = resp.Body
	if p := progressOf(ctx); p != nil {
		rc = &progressReader{ReadCloser: rc, p: p, d: d, done: offset, size: size, last: offset}
	}
	return rc, nil
}

// parseContentRange reads "bytes START-END/TOTAL".
func parseContentRange(s string) (start, total int64, ok bool) {
	spec, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(spec, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	total, err2 := strconv.ParseInt(tot, 10, 64)
	return start, total, err1 == nil && err2 == nil
}
