package artifact

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// BuildOptions say what to build and where it goes.
type BuildOptions struct {
	Dir     string
	Project string
	Tags    []string
	// TempDir holds the layers while they are packed (the store's temp
	// folder, so they are moved into the store, not copied).
	TempDir string
	// CacheDir, if set, remembers the layer each group of files packed to,
	// by the files' paths, sizes, modes and modification times: a rebuild
	// packs only the groups whose files changed (see layerCache).
	CacheDir string
}

// BuildResult is what Build stored.
type BuildResult struct {
	Kind    registry.Kind    `json:"kind"`
	Name    string           `json:"name"`
	Version registry.Version `json:"version"`
	Files   int              `json:"files"`
	Bytes   int64            `json:"bytes"`
	Layers  int              `json:"layers"`
	// Reused counts the layers the store already had.
	Reused int `json:"reused"`
}

// Build packs the folder o.Dir (its spec file, then every file .swignore
// does not exclude) into a bundle and adds it as a version to reg, which
// keeps artifacts of kind reg.Kind() (a model or a dataset). Building the
// same folder twice gives the same version.
func Build(ctx context.Context, reg *registry.Registry, o BuildOptions) (BuildResult, error) {
	k := reg.Kind()
	if k == registry.KindRuntime {
		return BuildResult{}, fmt.Errorf("artifact: runtimes are built by core/workflow")
	}
	if err := registry.CheckUserTags(o.Tags); err != nil {
		return BuildResult{}, err
	}
	sp, raw, err := LoadSpec(o.Dir, k)
	if err != nil {
		return BuildResult{}, err
	}
	paths, sizes, err := files(o.Dir)
	if err != nil {
		return BuildResult{}, err
	}
	var total int64
	for _, p := range paths {
		total += sizes[p]
	}
	chunks := groups(paths, sizes)
	cache := layerCache{dir: o.CacheDir, root: o.Dir}
	infos := make([]bundle.LayerInfo, len(chunks))
	keys := make([]string, len(chunks))
	var jobs []bundle.LayerJob
	var todo []int
	for i, c := range chunks {
		keys[i] = cache.key(c)
		if info, ok := cache.get(keys[i]); ok {
			if has, err := reg.HasBlob(ctx, info.Digest); err == nil && has {
				infos[i] = info
				continue
			}
		}
		job := layerJob(o.Dir, o.TempDir, c, sizes)
		job.Writeback = !store.DefersSync(reg.Store()) // the hint helps only a commit that fsyncs
		jobs = append(jobs, job)
		todo = append(todo, i)
	}
	packed, err := bundle.PackLayers(ctx, jobs, 0)
	if err != nil {
		return BuildResult{}, err
	}
	defer func() {
		for _, p := range packed {
			os.Remove(p.Path) // gone already when stored
		}
	}()
	res := BuildResult{Kind: k, Name: sp.Name, Files: len(paths), Bytes: total, Layers: len(chunks), Reused: len(chunks) - len(todo)}
	for j, p := range packed {
		i := todo[j]
		if has, err := reg.HasBlob(ctx, p.Digest); err == nil && has {
			res.Reused++
		}
		if _, err := reg.PutBlobFile(ctx, p.Path, p.Digest, true); err != nil {
			return BuildResult{}, err
		}
		infos[i] = p.LayerInfo
		cache.put(keys[i], p.LayerInfo)
	}
	layers := make([]ocispec.Descriptor, len(chunks))
	for i, info := range infos {
		layers[i] = bundle.LayerDescriptor(info, bundle.RoleFiles, "")
		if isContent(chunks[i], sizes) {
			layers[i].Annotations[AnnotationPath] = chunks[i][0]
		}
	}
	cfg := Config{Name: sp.Name, Kind: string(k), SpecFile: SpecFile(k), Spec: string(raw), Files: len(paths), Bytes: total}
	if sp.Run != nil {
		cfg.Handler = sp.Run.Handler
	}
	cb, err := json.Marshal(cfg)
	if err != nil {
		return BuildResult{}, err
	}
	cd := bundle.ConfigDescriptor(cb)
	cd.MediaType = configType(k)
	if _, err := reg.PutBlob(ctx, bytes.NewReader(cb), cd.Digest); err != nil {
		return BuildResult{}, err
	}
	m, err := bundle.ManifestOf(ArtifactType(k), cd, layers, nil)
	if err != nil {
		return BuildResult{}, err
	}
	if res.Version, err = reg.PutVersion(ctx, cmp.Or(o.Project, instance.DefaultProject), sp.Name, m, o.Tags); err != nil {
		return BuildResult{}, err
	}
	return res, nil
}

// Read is a stored model or dataset version: its manifest and config.
type Read struct {
	Version  registry.Version
	Manifest *ocispec.Manifest
	Raw      []byte
	Config   Config
}

// Open reads the version ref names in place p (which keeps artifacts of
// kind k) and checks it is one.
func Open(ctx context.Context, p instance.Place, ref instance.Ref, k registry.Kind) (*Read, error) {
	v, err := p.Resolve(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	raw, err := p.Manifest(ctx, v)
	if err != nil {
		return nil, err
	}
	m, err := bundle.ParseManifest(raw)
	if err != nil {
		return nil, err
	}
	if m.ArtifactType != ArtifactType(k) {
		return nil, &KindError{Want: k, Got: m.ArtifactType, Name: v.Name}
	}
	rc, err := p.Get(ctx, m.Config.Digest, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(buf.Bytes(), k)
	if err != nil {
		return nil, err
	}
	return &Read{Version: v, Manifest: m, Raw: raw, Config: cfg}, nil
}

// Extract lays the files of version a out in dest (made; it must not
// exist) and makes them read-only. After an error dest is removed.
func Extract(ctx context.Context, p instance.Place, a *Read, dest string) (err error) {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dest, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			makeWritable(dest)
			os.RemoveAll(dest)
		}
	}()
	for _, l := range a.Manifest.Layers {
		rc, err := p.Get(ctx, l.Digest, 0)
		if err != nil {
			return err
		}
		_, err = bundle.ExtractLayer(ctx, rc, dest, extractOptions(l))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s %s: layer %s: %w", a.Config.Kind, a.Version.Short, l.Digest.Encoded()[:12], err)
		}
	}
	return readOnly(dest)
}

// layerJob packs one group of files; a content layer (see isContent) holds
// its file under contentName.
func layerJob(root, tmp string, group []string, sizes map[string]int64) bundle.LayerJob {
	if !isContent(group, sizes) {
		return bundle.LayerJob{Root: root, Paths: group, Dir: tmp}
	}
	full := filepath.Join(root, filepath.FromSlash(group[0]))
	return bundle.LayerJob{Root: root, Paths: []string{contentName}, Dir: tmp, Options: bundle.PackOptions{
		Source: func(rel string) string {
			if rel == contentName {
				return full
			}
			return ""
		}}}
}

// extractOptions are the reader's limits for layer l and, for a content
// layer, where its one file goes.
func extractOptions(l ocispec.Descriptor) bundle.ExtractOptions {
	o := instance.LayerExtractOptions(l)
	if p, ok := l.Annotations[AnnotationPath]; ok {
		o.Rename = func(name string) string {
			if name == contentName {
				return p // checked by the reader as any entry's path
			}
			return ""
		}
	}
	return o
}

// readOnly takes the write bits off everything under dir (folders last).
func readOnly(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, fi.Mode().Perm()&^0o222)
	})
	for i := len(dirs) - 1; i >= 0 && err == nil; i-- {
		err = os.Chmod(dirs[i], 0o555)
	}
	return err
}

// makeWritable gives folders back their write bit so dir can be removed.
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// RemoveAll removes a tree Extract made read-only.
func RemoveAll(dir string) error {
	makeWritable(dir)
	return os.RemoveAll(dir)
}
