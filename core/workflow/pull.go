package workflow

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/uri"
)

// pullRemote copies the version a cloud or OCI registry URI names into the
// local store (same project; only the blobs the store lacks move, each
// verified) and returns the local URI of that version by digest, so restore,
// run, activate and extract go on as for a local version. Any other source
// is returned as it is.
func (s *Service) pullRemote(ctx context.Context, src string) (string, error) {
	if uri.IsFile(src) {
		return src, nil
	}
	u, err := uri.Parse(src)
	if err != nil || u.IsLocal() || u.Kind() == uri.KindProject {
		return src, nil // ParseRef reports what is wrong
	}
	op := s.Instances()
	from, err := op.Open(ctx, u)
	if err != nil {
		return "", err
	}
	defer from.Close()
	to, err := op.Local()
	if err != nil {
		return "", err
	}
	opts := instance.CopyOptions{}
	if s.Events != nil {
		opts.Progress = func(done, total int) {
			s.Events(mode.Event{Stage: "pull blobs", Current: int64(done), Total: int64(total)})
		}
		ctx = remote.WithProgress(ctx, func(d digest.Digest, done, size int64) {
			s.Events(mode.Event{Stage: "pull bytes", Message: fmt.Sprintf("%s %d of %d bytes", d.Encoded()[:12], done, size)})
		})
	}
	res, err := instance.Copy(ctx, from, instance.RefOf(u), to, instance.Ref{Project: u.Project}, opts)
	if err != nil {
		return "", err
	}
	return uri.URI{Instance: uri.LocalInstance, Project: res.Version.Project, Name: res.Version.Name, Version: string(res.Version.Digest)}.String(), nil
}
