package registry

import (
	"fmt"
	"strings"
)

// Kind is the kind of artifact a Registry keeps: runtimes, models or
// datasets. Each kind has its own tree of names under a project
// (projects/<p>/runtimes/..., projects/<p>/models/..., projects/<p>/datasets/...)
// with the same versions, tags, counter, trash and OCI links; blobs are
// shared by every kind (stored once).
type Kind string

const (
	KindRuntime Kind = "runtime"
	KindModel   Kind = "model"
	KindDataset Kind = "dataset"
)

// Kinds lists every kind, runtime first.
var Kinds = []Kind{KindRuntime, KindModel, KindDataset}

// ParseKind returns the kind named s ("runtime", "model", "dataset").
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", &InvalidNameError{Kind: "artifact kind", Value: s, Reason: fmt.Sprintf("allowed: %s", strings.Join(names, ", "))}
}

// segment is the key segment of the kind's tree: "runtimes", "models",
// "datasets". The zero Kind is a runtime (the layout before kinds).
func (k Kind) segment() string {
	if k == "" {
		return string(KindRuntime) + "s"
	}
	return string(k) + "s"
}

// Noun is how messages name the kind ("runtime" for the zero Kind).
func (k Kind) Noun() string {
	if k == "" {
		return string(KindRuntime)
	}
	return string(k)
}

// Of returns a registry on the same store that keeps artifacts of kind k.
// It holds no state of its own, like any Registry.
func (r *Registry) Of(k Kind) *Registry {
	c := *r
	c.kind = k
	return &c
}

// Kind is the kind of artifact r keeps.
func (r *Registry) Kind() Kind {
	if r.kind == "" {
		return KindRuntime
	}
	return r.kind
}

// kindOfSegment is the Kind whose key segment is seg.
func kindOfSegment(seg string) (Kind, bool) {
	for _, k := range Kinds {
		if k.segment() == seg {
			return k, true
		}
	}
	return "", false
}
