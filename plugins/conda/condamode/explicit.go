package condamode

import (
	"sort"
	"strings"
)

// explicitSpec writes conda's explicit spec of the records as
// `conda list --explicit --md5` does (conda reads the same conda-meta
// records): the platform, @EXPLICIT, then URL#MD5 per package in dependency
// order (a package after what it depends on; ties by name), and returns
// the URLs. Records without a URL (nor a channel and file name to make one
// from) are left out, as conda leaves them out.
func explicitSpec(recs []condaRecord) (string, []string) {
	var b strings.Builder
	b.WriteString("# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n")
	platform := ""
	for _, r := range recs {
		if r.Subdir != "" && r.Subdir != "noarch" {
			platform = r.Subdir
			break
		}
	}
	if platform != "" {
		b.WriteString("# platform: " + platform + "\n")
	}
	b.WriteString("@EXPLICIT\n")
	var urls []string
	for _, r := range toposort(recs) {
		u := r.URL
		if u == "" && r.Channel != "" && r.Fn != "" {
			u = strings.TrimRight(r.Channel, "/") + "/" + r.Fn
		}
		if u == "" {
			continue
		}
		if r.MD5 != "" {
			u += "#" + r.MD5
		}
		urls = append(urls, u)
		b.WriteString(u + "\n")
	}
	return b.String(), urls
}

// toposort orders records so that each comes after the records it depends
// on ("depends": ["python >=3.8", ...], by name), the ready ones by name;
// a cycle is broken at the smallest name.
func toposort(recs []condaRecord) []condaRecord {
	byName := map[string]int{}
	for i, r := range recs {
		byName[r.Name] = i
	}
	deps := make([]map[int]bool, len(recs))
	for i, r := range recs {
		deps[i] = map[int]bool{}
		for _, d := range r.Depends {
			name := strings.Fields(d + " ")[0]
			if j, ok := byName[name]; ok && j != i {
				deps[i][j] = true
			}
		}
	}
	done := make([]bool, len(recs))
	var out []condaRecord
	for len(out) < len(recs) {
		var ready []int
		for i := range recs {
			if done[i] {
				continue
			}
			ok := true
			for j := range deps[i] {
				if !done[j] {
					ok = false
					break
				}
			}
			if ok {
				ready = append(ready, i)
			}
		}
		if len(ready) == 0 { // a cycle: take the smallest name left
			for i := range recs {
				if !done[i] {
					ready = []int{i}
					break
				}
			}
		}
		sort.Slice(ready, func(a, b int) bool { return recs[ready[a]].Name < recs[ready[b]].Name })
		for _, i := range ready {
			done[i] = true
			out = append(out, recs[i])
		}
	}
	return out
}
