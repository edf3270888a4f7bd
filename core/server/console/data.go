package console

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/workflow"
)

// summary is what listings show of a version, from its manifests. It is
// cached by manifest digest (immutable content).
type summary struct {
	Python, Mode, OS, Arch string
	Packages               int
	// blobs are the manifest, the config and every layer, each once.
	blobs []blobRef
}

type blobRef struct {
	Digest digest.Digest
	Size   int64
}

// summary loads the summary of v, from the cache when it can.
func (c *Console) summary(ctx context.Context, v registry.Version) (*summary, error) {
	if s, ok := c.cache.Get(v.Digest); ok {
		return s, nil
	}
	b, err := workflow.LoadBundle(ctx, instance.OnRegistry(c.reg), v)
	if err != nil {
		return nil, fmt.Errorf("version %s of %s/%s: %w", v.Short, v.Project, v.Name, err)
	}
	m := b.Manifest
	s := &summary{Python: m.Python, Mode: m.Mode, OS: m.OS, Arch: m.Arch, Packages: len(m.Lock)}
	s.blobs = append(s.blobs, blobRef{v.Digest, int64(len(b.Raw))}, blobRef{b.OCI.Config.Digest, b.OCI.Config.Size})
	seen := map[digest.Digest]bool{}
	for _, l := range b.OCI.Layers {
		if !seen[l.Digest] {
			seen[l.Digest] = true
			s.blobs = append(s.blobs, blobRef{l.Digest, l.Size})
		}
	}
	c.cache.Add(v.Digest, s)
	return s, nil
}

// versionRow is a version as the versions page lists it.
type versionRow struct {
	registry.Version
	*summary
}

// runtimeInfo is a runtime with its versions and their summaries.
type runtimeInfo struct {
	Project, Name string
	Versions      []versionRow // newest first
	Size          int64        // bytes of every distinct blob
	Updated       time.Time
	Latest        registry.Version
	Tags          []string // user tags and latest, in version order
}

func (c *Console) runtime(ctx context.Context, project, name string, removed bool) (*runtimeInfo, error) {
	vs, err := c.reg.ListVersions(ctx, project, name, removed)
	if err != nil {
		return nil, hide(err)
	}
	if len(vs) == 0 {
		if removed {
			return nil, errNotFound
		}
		// only removed versions: still a runtime, shown empty
		if all, err := c.reg.ListVersions(ctx, project, name, true); err != nil || len(all) == 0 {
			return nil, errNotFound
		}
	}
	ri := &runtimeInfo{Project: project, Name: name}
	seen := map[digest.Digest]bool{}
	for _, v := range vs {
		s, err := c.summary(ctx, v)
		if err != nil {
			return nil, err
		}
		ri.Versions = append(ri.Versions, versionRow{v, s})
		for _, b := range s.blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				ri.Size += b.Size
			}
		}
		if v.Created.After(ri.Updated) {
			ri.Updated = v.Created
		}
		for _, t := range v.Tags {
			if t == "latest" {
				ri.Latest = v
			}
			if !registry.IsNumberTag(t) {
				ri.Tags = append(ri.Tags, t)
			}
		}
	}
	sort.SliceStable(ri.Versions, func(i, j int) bool { return ri.Versions[i].Number > ri.Versions[j].Number })
	if ri.Latest.Digest == "" && len(ri.Versions) > 0 {
		ri.Latest = ri.Versions[0].Version
	}
	return ri, nil
}

// projectInfo is a project as the projects page lists it.
type projectInfo struct {
	Name     string
	Public   bool
	Role     string
	Runtimes []*runtimeInfo
	Size     int64
}

func (c *Console) projectRuntimes(ctx context.Context, project string) ([]*runtimeInfo, int64, error) {
	rs, err := c.reg.ListRuntimes(ctx, project, false)
	if err != nil {
		return nil, 0, err
	}
	var out []*runtimeInfo
	var size int64
	for _, r := range rs {
		ri, err := c.runtime(ctx, project, r.Name, false)
		if errors.Is(err, errNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ri)
		size += ri.Size // a blob shared by two runtimes counts twice: an upper bound
	}
	return out, size, nil
}

// layerRow is one layer of a version.
type layerRow struct {
	Role, Package string
	Digest        digest.Digest
	Size          int64
	// Shared counts the other versions of the runtime that hold this layer.
	Shared int
}

// versionInfo is everything the version page shows.
type versionInfo struct {
	registry.Version
	Bundle     *workflow.Bundle
	SpecFile   string
	SpecText   string
	SpecErr    string
	Layers     []layerRow
	Copy       string
	Restore    string
	Import     string
	Download   string
	UserTags   []string
	ConfigSize int64
}

func (c *Console) resolve(ctx context.Context, project, name, ref string) (registry.Version, error) {
	v, err := c.reg.Resolve(ctx, project, name, ref, registry.IncludeRemoved())
	if err != nil {
		return v, hide(err)
	}
	return v, nil
}

func (c *Console) version(ctx context.Context, project, name, ref string) (*versionInfo, error) {
	v, err := c.resolve(ctx, project, name, ref)
	if err != nil {
		return nil, err
	}
	b, err := workflow.LoadBundle(ctx, instance.OnRegistry(c.reg), v)
	if err != nil {
		return nil, err
	}
	vi := &versionInfo{Version: v, Bundle: b, SpecFile: b.Manifest.SpecFile, ConfigSize: b.OCI.Config.Size}
	for _, t := range v.Tags {
		if !registry.IsReservedTag(t) {
			vi.UserTags = append(vi.UserTags, t)
		}
	}
	others, err := c.reg.ListVersions(ctx, project, name, false)
	if err != nil {
		return nil, err
	}
	holders := map[digest.Digest]int{}
	for _, o := range others {
		if o.Digest == v.Digest {
			continue
		}
		s, err := c.summary(ctx, o)
		if err != nil {
			return nil, err
		}
		for _, bl := range s.blobs {
			holders[bl.Digest]++
		}
	}
	for _, l := range b.OCI.Layers {
		vi.Layers = append(vi.Layers, layerRow{Role: l.Annotations[bundle.AnnotationRole], Package: l.Annotations[bundle.AnnotationPackage],
			Digest: l.Digest, Size: l.Size, Shared: holders[l.Digest]})
	}
	if snaps := b.Layers(bundle.RoleSnapshot); len(snaps) == 1 && vi.SpecFile != "" {
		text, err := c.snapshotFile(ctx, snaps[0].Digest, vi.SpecFile)
		if err != nil {
			vi.SpecErr = err.Error()
		}
		vi.SpecText = text
	} else {
		vi.SpecErr = "this version has no snapshot layer holding its runtime.yaml"
	}
	return vi, nil
}

// maxSpecFile bounds the runtime.yaml shown.
const maxSpecFile = 1 << 20

// snapshotFile reads one regular file of a snapshot layer into memory. It
// decodes the layer (a zstd tar, see core/bundle) as a stream and stops at
// the file: core/bundle only extracts whole layers to disk, which a page
// view should not do.
func (c *Console) snapshotFile(ctx context.Context, layer digest.Digest, name string) (string, error) {
	rc, _, err := c.reg.GetBlob(ctx, layer)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	dec, err := zstd.NewReader(rc, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return "", err
	}
	defer dec.Close()
	tr := tar.NewReader(dec)
	want := path.Clean(name)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s is not in the snapshot layer", name)
		}
		if err != nil {
			return "", fmt.Errorf("snapshot layer: %w", err)
		}
		if h.Typeflag != tar.TypeReg || path.Clean(strings.TrimPrefix(h.Name, "./")) != want {
			continue
		}
		if h.Size > maxSpecFile {
			return "", fmt.Errorf("%s is %d bytes, more than the %d shown", name, h.Size, maxSpecFile)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxSpecFile))
		if err != nil {
			return "", fmt.Errorf("snapshot layer: %w", err)
		}
		return string(data), nil
	}
}
