package workflow

import (
	"context"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
)

// Diff is what changed from runtime version A to version B: the packages of
// their locks, the facts of their manifests, their runtime.yaml and their
// layers. The CLI renders it; the console can too.
type Diff struct {
	A        DiffSide             `json:"a"`
	B        DiffSide             `json:"b"`
	Fields   []FieldChange        `json:"fields"`
	Added    []mode.LockedPackage `json:"added"`
	Removed  []mode.LockedPackage `json:"removed"`
	Changed  []PackageChange      `json:"changed"`
	Same     int                  `json:"same_packages"`
	SpecDiff string               `json:"runtime_yaml_diff"`
	Layers   LayerDiff            `json:"layers"`
}

// DiffSide names one of the two versions.
type DiffSide struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

// FieldChange is a manifest fact (python, mode, os, arch, platform, abi,
// lock_only) that differs.
type FieldChange struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// PackageChange is a package in both locks whose version, source, installer
// or editable flag differs.
type PackageChange struct {
	Name string             `json:"name"`
	A    mode.LockedPackage `json:"a"`
	B    mode.LockedPackage `json:"b"`
}

// LayerDiff counts the layers (and their bytes) the two versions share and
// those only one of them has.
type LayerDiff struct {
	Shared      int   `json:"shared"`
	SharedBytes int64 `json:"shared_bytes"`
	OnlyA       int   `json:"only_a"`
	OnlyABytes  int64 `json:"only_a_bytes"`
	OnlyB       int   `json:"only_b"`
	OnlyBBytes  int64 `json:"only_b_bytes"`
}

// Empty says whether A and B hold the same environment and spec.
func (d *Diff) Empty() bool {
	return len(d.Fields) == 0 && len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 && d.SpecDiff == ""
}

// Diff loads two versions (from any places) and compares them.
func (s *Service) Diff(ctx context.Context, pa instance.Place, ra Ref, pb instance.Place, rb Ref) (*Diff, error) {
	var bs [2]*Bundle
	var yamls [2][]byte
	for i, x := range []struct {
		p instance.Place
		r Ref
	}{{pa, ra}, {pb, rb}} {
		b, err := s.Info(ctx, x.p, x.r)
		if err != nil {
			return nil, err
		}
		y, err := s.SnapshotFile(ctx, x.p, b, b.Manifest.SpecFile)
		if err != nil {
			return nil, err
		}
		bs[i], yamls[i] = b, y
	}
	return DiffBundles(bs[0], yamls[0], bs[1], yamls[1]), nil
}

// DiffBundles compares two loaded bundles and their runtime.yaml texts.
func DiffBundles(a *Bundle, yamlA []byte, b *Bundle, yamlB []byte) *Diff {
	d := &Diff{
		A: DiffSide{Name: a.Manifest.Name, Version: a.Version.Short, Digest: a.Version.Digest.String()},
		B: DiffSide{Name: b.Manifest.Name, Version: b.Version.Short, Digest: b.Version.Digest.String()},
	}
	ma, mb := a.Manifest, b.Manifest
	for _, f := range []struct{ name, a, b string }{
		{"name", ma.Name, mb.Name}, {"mode", ma.Mode, mb.Mode}, {"python", ma.Python, mb.Python},
		{"os", ma.OS, mb.OS}, {"arch", ma.Arch, mb.Arch}, {"platform", ma.Platform, mb.Platform},
		{"abi", ma.ABI, mb.ABI}, {"lock_only", boolWord(ma.LockOnly), boolWord(mb.LockOnly)},
		{"lock_disabled", boolWord(ma.LockDisabled), boolWord(mb.LockDisabled)},
	} {
		if f.a != f.b {
			d.Fields = append(d.Fields, FieldChange{Field: f.name, A: f.a, B: f.b})
		}
	}
	if d.Fields == nil {
		d.Fields = []FieldChange{}
	}
	d.diffPackages(ma.Lock, mb.Lock)
	d.SpecDiff = unifiedDiff(yamlA, yamlB, a.Version.Short+"/"+ma.SpecFile, b.Version.Short+"/"+mb.SpecFile)
	d.diffLayers(a, b)
	return d
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// packageKey is a distribution's name as Python compares them (PEP 503).
func packageKey(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
}

func (d *Diff) diffPackages(la, lb []mode.LockedPackage) {
	index := func(l []mode.LockedPackage) map[string]mode.LockedPackage {
		m := make(map[string]mode.LockedPackage, len(l))
		for _, p := range l {
			m[packageKey(p.Name)] = p
		}
		return m
	}
	ia, ib := index(la), index(lb)
	for k, pa := range ia {
		pb, ok := ib[k]
		switch {
		case !ok:
			d.Removed = append(d.Removed, pa)
		case pa.Version != pb.Version || pa.Source != pb.Source || pa.Installer != pb.Installer || pa.Editable != pb.Editable:
			d.Changed = append(d.Changed, PackageChange{Name: pb.Name, A: pa, B: pb})
		default:
			d.Same++
		}
	}
	for k, pb := range ib {
		if _, ok := ia[k]; !ok {
			d.Added = append(d.Added, pb)
		}
	}
	byName := func(l []mode.LockedPackage) {
		sort.Slice(l, func(i, j int) bool { return packageKey(l[i].Name) < packageKey(l[j].Name) })
	}
	byName(d.Added)
	byName(d.Removed)
	sort.Slice(d.Changed, func(i, j int) bool { return packageKey(d.Changed[i].Name) < packageKey(d.Changed[j].Name) })
	if d.Added == nil {
		d.Added = []mode.LockedPackage{}
	}
	if d.Removed == nil {
		d.Removed = []mode.LockedPackage{}
	}
	if d.Changed == nil {
		d.Changed = []PackageChange{}
	}
}

func (d *Diff) diffLayers(a, b *Bundle) {
	inB := map[string]bool{}
	for _, l := range b.OCI.Layers {
		inB[l.Digest.String()] = true
	}
	inA := map[string]bool{}
	for _, l := range a.OCI.Layers {
		inA[l.Digest.String()] = true
		if inB[l.Digest.String()] {
			d.Layers.Shared++
			d.Layers.SharedBytes += l.Size
		} else {
			d.Layers.OnlyA++
			d.Layers.OnlyABytes += l.Size
		}
	}
	for _, l := range b.OCI.Layers {
		if !inA[l.Digest.String()] {
			d.Layers.OnlyB++
			d.Layers.OnlyBBytes += l.Size
		}
	}
}

// unifiedDiff is the unified diff (3 lines of context) of two texts, empty
// when they are the same; go-difflib does the work.
func unifiedDiff(a, b []byte, nameA, nameB string) string {
	if string(a) == string(b) {
		return ""
	}
	s, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: nameA, ToFile: nameB, Context: 3,
	})
	if err != nil {
		// Writing into a strings.Builder does not fail; keep the texts apart anyway.
		return "--- " + nameA + "\n+++ " + nameB + "\n"
	}
	return s
}
