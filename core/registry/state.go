package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/store"
)

// runtimeState is everything stored for one runtime, read at once.
type runtimeState struct {
	project, name string
	records       map[digest.Digest]versionRecord
	tags          map[string]digest.Digest // all but vN tags
	// removing is set when a whole-runtime removal is under way (its
	// record exists; removal.go).
	removing bool
}

// loadRuntime reads the records and tags of one runtime.
func (r *Registry) loadRuntime(ctx context.Context, project, name string) (*runtimeState, error) {
	return oneState(project, name)(r.load(ctx, project, name))
}

// oneState gives the state of runtime name from what load returned for it.
func oneState(project, name string) func([]*runtimeState, error) (*runtimeState, error) {
	return func(states []*runtimeState, err error) (*runtimeState, error) {
		if err != nil {
			return nil, err
		}
		if len(states) == 0 {
			return newState(project, name), nil
		}
		return states[0], nil
	}
}

func newState(project, name string) *runtimeState {
	return &runtimeState{project: project, name: name,
		records: map[digest.Digest]versionRecord{}, tags: map[string]digest.Digest{}}
}

// load reads the records and tags of runtime name of a project, or of all
// its runtimes when name is "": one List, then parallel reads.
func (r *Registry) load(ctx context.Context, project, name string) ([]*runtimeState, error) {
	base := r.kindBase(project)
	prefix := base
	if name != "" {
		prefix = r.artifactPrefix(project, name)
	}
	type item struct {
		st   *runtimeState
		kind string // "versions" or "tags"
		leaf string
		key  string
	}
	var (
		items  []item
		states []*runtimeState
		byName = map[string]*runtimeState{}
	)
	err := r.s.List(ctx, prefix, func(info store.Info) error {
		parts := strings.Split(strings.TrimPrefix(info.Key, base), "/")
		if len(parts) == 2 && parts[1] == removalLeaf {
			st := byName[parts[0]]
			if st == nil {
				st = newState(project, parts[0])
				byName[parts[0]] = st
				states = append(states, st)
			}
			st.removing = true
			return nil
		}
		if len(parts) != 3 || (parts[1] != "versions" && parts[1] != "tags") {
			return nil
		}
		if _, isNum := parseNumberTag(parts[2]); isNum && parts[1] == "tags" {
			return nil // a record knows its number: no need to read vN tags
		}
		st := byName[parts[0]]
		if st == nil {
			st = newState(project, parts[0])
			byName[parts[0]] = st
			states = append(states, st)
		}
		items = append(items, item{st: st, kind: parts[1], leaf: parts[2], key: info.Key})
		return nil
	})
	if err != nil {
		return nil, err
	}
	recs := make([]versionRecord, len(items))
	tags := make([]tagRecord, len(items))
	ok := make([]bool, len(items))
	err = parallel(ctx, len(items), func(ctx context.Context, i int) error {
		var err error
		if items[i].kind == "versions" {
			err = r.readJSON(ctx, items[i].key, &recs[i])
		} else {
			err = r.readJSON(ctx, items[i].key, &tags[i])
		}
		if isNotFound(err) {
			return nil // removed meanwhile
		}
		ok[i] = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if !ok[i] {
			continue
		}
		if it.kind == "versions" {
			if recs[i].Digest.Encoded() != it.leaf || checkDigest(recs[i].Digest) != nil {
				return nil, fmt.Errorf("registry: %s: corrupt record: digest %q", it.key, recs[i].Digest)
			}
			it.st.records[recs[i].Digest] = recs[i]
		} else if checkDigest(tags[i].Digest) == nil {
			it.st.tags[it.leaf] = tags[i].Digest
		}
	}
	return states, nil
}

// loadTags reads the tags of one runtime but vN ones (a record knows its
// number).
func (r *Registry) loadTags(ctx context.Context, project, name string) (map[string]digest.Digest, error) {
	prefix := r.tagsPrefix(project, name)
	var names []string
	err := r.s.List(ctx, prefix, func(info store.Info) error {
		leaf := strings.TrimPrefix(info.Key, prefix)
		if _, isNum := parseNumberTag(leaf); !isNum && !strings.Contains(leaf, "/") {
			names = append(names, leaf)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	recs := make([]tagRecord, len(names))
	err = parallel(ctx, len(names), func(ctx context.Context, i int) error {
		err := r.readJSON(ctx, prefix+names[i], &recs[i])
		if isNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	tags := make(map[string]digest.Digest, len(names))
	for i, n := range names {
		if checkDigest(recs[i].Digest) == nil {
			tags[n] = recs[i].Digest
		}
	}
	return tags, nil
}

func (st *runtimeState) live(d digest.Digest) bool {
	rec, ok := st.records[d]
	return ok && !rec.Removed
}

// newest is the live version with the highest N, but not skip.
func (st *runtimeState) newest(skip digest.Digest) (digest.Digest, bool) {
	var (
		best  digest.Digest
		bestN = -1
	)
	for d, rec := range st.records {
		if !rec.Removed && d != skip && rec.Number > bestN {
			best, bestN = d, rec.Number
		}
	}
	return best, bestN >= 0
}

// latest is the version latest points to, or, when it points to nothing
// live, the newest one.
func (st *runtimeState) latest() (digest.Digest, bool) {
	if d, ok := st.tags[latestTag]; ok && st.live(d) {
		return d, true
	}
	return st.newest("")
}

// versions lists the versions with their tags, highest N first.
func (st *runtimeState) versions(showRemoved bool) []Version {
	byDigest := map[digest.Digest][]string{}
	for t, d := range st.tags {
		if _, ok := st.records[d]; ok && t != latestTag {
			byDigest[d] = append(byDigest[d], t)
		}
	}
	if d, ok := st.latest(); ok {
		byDigest[d] = append(byDigest[d], latestTag)
	}
	out := make([]Version, 0, len(st.records))
	for d, rec := range st.records {
		if rec.Removed && !showRemoved {
			continue
		}
		out = append(out, makeVersion(st.project, st.name, rec, append(byDigest[d], numberTag(rec.Number))))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Number != out[j].Number {
			return out[i].Number > out[j].Number
		}
		return out[i].Digest < out[j].Digest
	})
	return out
}
