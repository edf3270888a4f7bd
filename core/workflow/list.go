package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/swcli/swcli/core/instance"
)

// ListFilters are the filters `runtime list -fl` takes, as Starwhale spells
// them.
var ListFilters = []string{"name=PREFIX", "latest"}

// ListOptions select the rows of a listing: every version of every runtime
// of a project, newest first per runtime, runtimes by name.
type ListOptions struct {
	Project string
	// Filters are "name=PREFIX" (runtimes whose name starts with PREFIX) and
	// "latest" (only the version tagged latest of each runtime).
	Filters []string
	// ShowRemoved adds each removed version as its own row.
	ShowRemoved bool
	// Page (from 1) and Size (rows a page; 0: all rows on one page).
	Page, Size int
}

// ListPage is one page of a listing.
type ListPage struct {
	Rows []instance.Version `json:"rows"`
	// Total rows over all pages; Pages how many pages there are.
	Total int `json:"total"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
}

type listFilter struct {
	prefix string
	latest bool
}

func parseListFilters(fl []string) (listFilter, error) {
	var f listFilter
	for _, x := range fl {
		k, v, hasValue := strings.Cut(x, "=")
		switch {
		case k == "name" && hasValue && v != "":
			f.prefix = v
		case k == "latest" && !hasValue:
			f.latest = true
		default:
			return f, usagef("filter %q is not allowed; allowed: %s", x, strings.Join(ListFilters, ", "))
		}
	}
	return f, nil
}

// List gives a page of the versions of a project's runtimes on inst.
func List(ctx context.Context, inst instance.Instance, o ListOptions) (ListPage, error) {
	f, err := parseListFilters(o.Filters)
	if err != nil {
		return ListPage{}, err
	}
	if o.Page < 1 || o.Size < 0 {
		return ListPage{}, usagef("--page %d --size %d: the page counts from 1 and the size is 0 (all) or more", o.Page, o.Size)
	}
	rts, err := inst.ListRuntimes(ctx, o.Project, o.ShowRemoved)
	if err != nil {
		return ListPage{}, err
	}
	slices.SortFunc(rts, func(a, b instance.RuntimeSummary) int { return strings.Compare(a.Name, b.Name) })
	var rows []instance.Version
	for _, r := range rts {
		if !strings.HasPrefix(r.Name, f.prefix) {
			continue
		}
		vs, err := inst.ListVersions(ctx, o.Project, r.Name, o.ShowRemoved)
		if err != nil {
			return ListPage{}, fmt.Errorf("list versions of %s: %w", r.Name, err)
		}
		for _, v := range vs {
			if !f.latest || slices.Contains(v.Tags, "latest") || (v.Removed && o.ShowRemoved) {
				rows = append(rows, v)
			}
		}
	}
	p := ListPage{Total: len(rows), Page: o.Page, Pages: 1, Rows: rows}
	if o.Size > 0 {
		p.Pages = max(1, (len(rows)+o.Size-1)/o.Size)
		lo := min(len(rows), (o.Page-1)*o.Size)
		p.Rows = rows[lo:min(len(rows), lo+o.Size)]
	}
	if p.Rows == nil {
		p.Rows = []instance.Version{}
	}
	return p, nil
}
