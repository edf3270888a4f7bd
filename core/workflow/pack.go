package workflow

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sort"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/registry"
)

type layerJob struct {
	role, pkg string
	root      string
	files     []string
	// sources maps the files (and folders) read from outside root to
	// their paths (envpack.Layer.Sources).
	sources map[string]string
	scrub   bool
	// stats, when set, gives the Lstat of the files read from root that a
	// walk or a plan made already (an *envpack.Tree, an *envpack.Split).
	stats interface{ Stat(rel string) fs.FileInfo }
}

// source returns the file to read for the layer path rel ("" for root/rel).
func (j *layerJob) source(rel string) string { return j.sources[rel] }

// stat returns the Lstat of the file read for rel from the job's tree, or
// nil.
func (j *layerJob) stat(rel string) fs.FileInfo {
	if j.stats == nil || j.sources[rel] != "" {
		return nil
	}
	return j.stats.Stat(rel)
}

// packer packs layer jobs into temporary files; nothing is stored until the
// packed layers are committed. bundlePacker does the work; cachingPacker (the
// layer cache) decorates it.
type packer interface {
	prepare(ctx context.Context, jobs []layerJob) (*packed, error)
}

// packed is layers packed into temporary files and not yet stored.
type packed struct {
	jobs []layerJob
	// entries holds, per job, the stored layer it is (set for layers reused
	// as they are; commit fills in the others).
	entries []cacheEntry
	// todo lists the jobs packed now, in the order of res.
	todo      []int
	res       []bundle.LayerResult
	scrubbers []*envpack.Scrubber
	reused    int
	// stored, if set, hears of each layer commit stores (the layer cache).
	stored func(job int, e cacheEntry)
	prefix string
}

// bundlePacker packs every job (in parallel) into temporary files in tmp,
// scrubbing the prefix and workdir out of the env layers.
type bundlePacker struct {
	s          *Service
	tmp        string
	prefix, wd string
	// writeback: the store fsyncs the blobs it commits (bundle.LayerJob).
	writeback bool
}

func (b *bundlePacker) prepare(ctx context.Context, jobs []layerJob) (*packed, error) {
	p := &packed{jobs: jobs, entries: make([]cacheEntry, len(jobs)), scrubbers: make([]*envpack.Scrubber, len(jobs)), prefix: b.prefix}
	var bjobs []bundle.LayerJob
	for i, j := range jobs {
		p.todo = append(p.todo, i)
		opts := bundle.PackOptions{}
		if len(j.sources) > 0 {
			opts.Source = j.source
		}
		if j.stats != nil {
			opts.Stat = j.stat
		}
		if j.scrub {
			sc := envpack.NewScrubber(b.prefix, b.wd)
			if opts.Source != nil {
				sc.SetSource(opts.Source)
			}
			p.scrubbers[i] = sc
			// Every file up to envpack.MaxScan, as sc.Rewrite says, from the
			// scan's stat.
			opts.RewriteMax, opts.Transform = envpack.MaxScan, sc.Transform
		}
		bjobs = append(bjobs, bundle.LayerJob{Root: j.root, Paths: j.files, Options: opts, Dir: b.tmp, Writeback: b.writeback})
	}
	if len(bjobs) > 0 {
		b.s.stage(fmt.Sprintf("pack %d layers", len(bjobs)), 0, int64(len(bjobs)))
		res, err := bundle.PackLayers(ctx, bjobs, max(1, runtime.NumCPU()))
		p.res = res
		if err != nil {
			p.discard()
			return nil, err
		}
	}
	return p, nil
}

// join puts the layers of q after those of p, as one packed (p's prefix).
func (p *packed) join(q *packed) *packed {
	n := len(p.jobs)
	out := &packed{jobs: append(append([]layerJob{}, p.jobs...), q.jobs...), entries: append(append([]cacheEntry{}, p.entries...), q.entries...),
		todo: append([]int{}, p.todo...), res: append(append([]bundle.LayerResult{}, p.res...), q.res...),
		scrubbers: append(append([]*envpack.Scrubber{}, p.scrubbers...), q.scrubbers...), reused: p.reused + q.reused, prefix: p.prefix}
	for _, i := range q.todo {
		out.todo = append(out.todo, n+i)
	}
	if p.stored != nil || q.stored != nil {
		out.stored = func(i int, e cacheEntry) {
			switch {
			case i < n && p.stored != nil:
				p.stored(i, e)
			case i >= n && q.stored != nil:
				q.stored(i-n, e)
			}
		}
	}
	return out
}

// discard removes the temporary files of layers not committed.
func (p *packed) discard() {
	for _, r := range p.res {
		if r.Path != "" {
			_ = os.Remove(r.Path)
		}
	}
}

// commit stores the packed layers' blobs and returns the layer descriptors
// in job order, how many layers were reused, and the relocation record.
func (p *packed) commit(ctx context.Context, reg *registry.Registry) ([]ocispec.Descriptor, int, *Relocation, error) {
	defer p.discard() // what PutBlobFile did not consume
	for n, i := range p.todo {
		r := p.res[n]
		if _, err := reg.PutBlobFile(ctx, r.Path, r.Digest, true); err != nil {
			return nil, 0, nil, err
		}
		p.res[n].Path = ""
		e := cacheEntry{Digest: r.Digest, Size: r.Size, Uncompressed: r.UncompressedSize, Files: r.Files}
		if sc := p.scrubbers[i]; sc != nil {
			e.Text, e.Binary = sc.Result()
		}
		p.entries[i] = e
		if p.stored != nil {
			p.stored(i, e)
		}
	}
	descs := make([]ocispec.Descriptor, len(p.jobs))
	rel := &Relocation{}
	for i, j := range p.jobs {
		e := p.entries[i]
		descs[i] = bundle.LayerDescriptor(bundle.LayerInfo{Digest: e.Digest, Size: e.Size, UncompressedSize: e.Uncompressed, Files: e.Files}, j.role, j.pkg)
		rel.TextFiles = append(rel.TextFiles, e.Text...)
		rel.BinaryFiles = append(rel.BinaryFiles, e.Binary...)
	}
	sort.Strings(rel.TextFiles)
	sort.Strings(rel.BinaryFiles)
	if len(rel.BinaryFiles) > 0 {
		rel.OldPrefix = p.prefix
	}
	return descs, p.reused, rel, nil
}
