package workflow

import (
	"context"
	"fmt"
	"runtime"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/swcli/swcli/core/bundle"
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
//
// Pull and restore overlap: each env layer is unpacked into the layer
// cache as soon as the store holds it, while the other layers still
// download (prefill), so the restore that follows only links. A layer that
// fails to unpack here is left to the restore, which unpacks it again and
// reports the failure.
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
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pre := s.prefill(pctx, to)
	opts.Stored = pre.add
	res, err := instance.Copy(ctx, from, instance.RefOf(u), to, instance.Ref{Project: u.Project}, opts)
	if err != nil {
		cancel()
	}
	pre.wait()
	if err != nil {
		return "", err
	}
	return uri.URI{Instance: uri.LocalInstance, Project: res.Version.Project, Name: res.Version.Name, Version: string(res.Version.Digest)}.String(), nil
}

// prefiller unpacks env layers into the layer cache as a pull stores them,
// a few at a time (unpacking is CPU-bound: one per core).
type prefiller struct {
	add  func(d ocispec.Descriptor)
	wait func()
}

func (s *Service) prefill(ctx context.Context, l *instance.Local) prefiller {
	lc := s.unpackedLayers()
	if lc == nil {
		return prefiller{add: func(ocispec.Descriptor) {}, wait: func() {}}
	}
	var g errgroup.Group
	sem := make(chan struct{}, max(runtime.NumCPU(), 1))
	return prefiller{
		add: func(d ocispec.Descriptor) {
			switch d.Annotations[bundle.AnnotationRole] {
			case bundle.RoleBase, bundle.RolePackage:
			default:
				return
			}
			g.Go(func() error {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return nil
				}
				defer func() { <-sem }()
				unpacked, err := lc.Fill(ctx, d.Digest, func(dir string) error { return extractBlob(ctx, l, d, dir) })
				switch {
				case err != nil && ctx.Err() == nil:
					s.log().Debug("layer not unpacked during the pull; the restore unpacks it", "digest", d.Digest, "error", err)
				case unpacked:
					s.log().Debug("layer unpacked during the pull", "digest", d.Digest, "size", d.Size)
				}
				return nil
			})
		},
		wait: func() { _ = g.Wait() },
	}
}
