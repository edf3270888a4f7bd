package console

import (
	"context"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/workflow"
)

// comparison is what the compare page shows: b against a.
type comparison struct {
	A, B                    *workflow.Bundle
	Added, Removed, Changed []pkgChange
	Same                    int
	// Facts are the manifest fields that differ (Python, platform, mode).
	Facts []fact
	// OnlyA and OnlyB are the bytes of layers in one version only;
	// SharedBytes those in both.
	OnlyA, OnlyB, SharedBytes int64
	OnlyALayers, OnlyBLayers  int
}

type pkgChange struct {
	Name         string
	A, B         *mode.LockedPackage
	VersionDiff  bool
	SourceDiffer bool
}

type fact struct{ Name, A, B string }

func (c *Console) compare(ctx context.Context, project, name, refA, refB string) (*comparison, error) {
	var bs [2]*workflow.Bundle
	for i, ref := range []string{refA, refB} {
		v, err := c.resolve(ctx, project, name, ref)
		if err != nil {
			return nil, err
		}
		if bs[i], err = workflow.LoadBundle(ctx, instance.OnRegistry(c.reg), v); err != nil {
			return nil, err
		}
	}
	cmp := &comparison{A: bs[0], B: bs[1]}
	ma, mb := bs[0].Manifest, bs[1].Manifest
	for _, f := range []fact{
		{"Python", ma.Python, mb.Python}, {"Mode", ma.Mode, mb.Mode}, {"OS/arch", ma.OS + "/" + ma.Arch, mb.OS + "/" + mb.Arch},
		{"Platform", ma.Platform, mb.Platform}, {"ABI", ma.ABI, mb.ABI}, {"swcli", ma.SwcliVersion, mb.SwcliVersion},
	} {
		if f.A != f.B {
			cmp.Facts = append(cmp.Facts, f)
		}
	}
	index := func(l []mode.LockedPackage) map[string]*mode.LockedPackage {
		m := map[string]*mode.LockedPackage{}
		for i := range l {
			m[strings.ToLower(l[i].Name)] = &l[i]
		}
		return m
	}
	ia, ib := index(ma.Lock), index(mb.Lock)
	for key, pa := range ia {
		pb, ok := ib[key]
		switch {
		case !ok:
			cmp.Removed = append(cmp.Removed, pkgChange{Name: pa.Name, A: pa})
		case pa.Version != pb.Version || pa.Source != pb.Source:
			cmp.Changed = append(cmp.Changed, pkgChange{Name: pb.Name, A: pa, B: pb,
				VersionDiff: pa.Version != pb.Version, SourceDiffer: pa.Source != pb.Source})
		default:
			cmp.Same++
		}
	}
	for key, pb := range ib {
		if _, ok := ia[key]; !ok {
			cmp.Added = append(cmp.Added, pkgChange{Name: pb.Name, B: pb})
		}
	}
	for _, l := range [][]pkgChange{cmp.Added, cmp.Removed, cmp.Changed} {
		sort.Slice(l, func(i, j int) bool { return strings.ToLower(l[i].Name) < strings.ToLower(l[j].Name) })
	}
	layers := func(b *workflow.Bundle) map[digest.Digest]int64 {
		m := map[digest.Digest]int64{}
		for _, l := range b.OCI.Layers {
			m[l.Digest] = l.Size
		}
		return m
	}
	la, lb := layers(bs[0]), layers(bs[1])
	for d, size := range la {
		if _, ok := lb[d]; ok {
			cmp.SharedBytes += size
		} else {
			cmp.OnlyA += size
			cmp.OnlyALayers++
		}
	}
	for d, size := range lb {
		if _, ok := la[d]; !ok {
			cmp.OnlyB += size
			cmp.OnlyBLayers++
		}
	}
	return cmp, nil
}
