// Package storeurl opens the store a store URL names. It is the one place
// where a URL becomes a store, for the server (`swcli server start --store`)
// and for the standalone instance (SW_STORE, the CLI config's `store:`):
//
//	file:///abs/path                  the built-in filesystem store
//	s3://BUCKET/PREFIX?endpoint=...   the s3store plugin
//	SCHEME://...                      a third-party store plugin serving SCHEME
//
// A store plugin declares the URLs it serves in its Info.ConfigSchema (a
// JSON object) under the key "x-swcli-store-url":
//
//	{"scheme": "s3", "form": "s3://BUCKET[/PREFIX][?...]",
//	 "query": {"endpoint": "description", ...}}
//
// so `swcli plugin info NAME` shows what the URL accepts. Open checks the
// URL against that declaration (scheme, query keys; no user or password,
// no query key that looks like a secret: credentials come from the
// service's own environment and config chain, never from a URL that ends
// up in logs and shell history), launches the plugin through plugins.yaml
// with the URL in SW_STORE_URL, and probes the store (see Probe) before
// handing it out. It owns no key layout and no plugin protocol.
package storeurl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/store"
)

// SchemaKey is the key of a store plugin's ConfigSchema that declares its
// store URLs.
const SchemaKey = "x-swcli-store-url"

// FileScheme is the scheme of the built-in filesystem store.
const FileScheme = "file"

// Decl is what a store plugin declares about the URLs it serves.
type Decl struct {
	Scheme string            `json:"scheme"`
	Form   string            `json:"form,omitempty"`
	Query  map[string]string `json:"query,omitempty"`
}

// Keys are the declared query keys, sorted.
func (d Decl) Keys() []string {
	keys := make([]string, 0, len(d.Query))
	for k := range d.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseDecl reads the declaration from a ConfigSchema; ok is false when the
// schema declares no store URL.
func ParseDecl(schema string) (Decl, bool) {
	var s map[string]json.RawMessage
	if json.Unmarshal([]byte(schema), &s) != nil || s[SchemaKey] == nil {
		return Decl{}, false
	}
	var d Decl
	if json.Unmarshal(s[SchemaKey], &d) != nil || d.Scheme == "" {
		return Decl{}, false
	}
	return d, true
}

// URLError is a store URL that cannot be used: it says what is wrong and
// what is allowed. It never holds a secret (the URL is shown without its
// user information and query values).
type URLError struct {
	URL     string // redacted
	Problem string
}

func (e *URLError) Error() string { return fmt.Sprintf("store URL %s: %s", e.URL, e.Problem) }

// Redact shows a store URL without user information and with query values
// hidden, for errors and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?@"); i >= 0 {
			return raw[:i] + "…"
		}
		return raw
	}
	u.User = nil
	q := u.Query()
	for k := range q {
		if secretLooking(k) {
			q.Set(k, "REDACTED")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// secretLooking says a query key would carry a credential.
func secretLooking(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"secret", "password", "passwd", "token", "credential", "access_key", "accesskey", "key_id", "signature", "sig"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Opener opens stores by URL, launching store plugins through Host.
type Opener struct {
	Host *plugin.Host
	// ProbeCache, when set, spares a plugin store the probe at open while a
	// probe of the same URL passed less than its TTL ago (short commands
	// run one after another; a server probes at each start and leaves it
	// nil). The filesystem store is always probed: it is local and cheap.
	ProbeCache *ProbeCache
}

// Open opens and probes the store rawURL names. See the package
// documentation.
func (o *Opener) Open(ctx context.Context, rawURL string) (store.Store, error) {
	u, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == FileScheme {
		s, err := openFile(rawURL, u)
		if err != nil {
			return nil, err
		}
		return probed(ctx, s, rawURL)
	}
	s, err := o.plugin(ctx, rawURL, u)
	if err != nil {
		return nil, err
	}
	c := o.ProbeCache
	if c == nil {
		return probed(ctx, s, rawURL)
	}
	if !c.Fresh(u) {
		if _, err := probed(ctx, s, rawURL); err != nil {
			c.Forget(u)
			return nil, err
		}
		_ = c.Remember(u) // an unwritable cache only costs the next command a probe
	}
	return &forgetting{Store: s, forget: func() { c.Forget(u) }}, nil
}

// probed returns s once it passed Probe.
func probed(ctx context.Context, s store.Store, rawURL string) (store.Store, error) {
	if err := Probe(ctx, s); err != nil {
		return nil, &ProbeError{URL: Redact(rawURL), Err: err}
	}
	return s, nil
}

func parse(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, &URLError{URL: Redact(rawURL), Problem: "not a URL; want file:///PATH, s3://BUCKET/PREFIX?endpoint=... or SCHEME://... of a store plugin"}
	}
	if u.User != nil {
		return nil, &URLError{URL: Redact(rawURL), Problem: "credentials do not belong in a store URL; give them the store's usual way (for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the AWS config chain)"}
	}
	for k := range u.Query() {
		if secretLooking(k) {
			return nil, &URLError{URL: Redact(rawURL), Problem: fmt.Sprintf("query key %q looks like a credential; credentials never go in a store URL (for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the AWS config chain)", k)}
		}
	}
	return u, nil
}

func openFile(rawURL string, u *url.URL) (store.Store, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, &URLError{URL: Redact(rawURL), Problem: "a file URL names a local folder: file:///ABSOLUTE/PATH"}
	}
	if u.RawQuery != "" {
		return nil, &URLError{URL: Redact(rawURL), Problem: "the filesystem store takes no query keys"}
	}
	if u.Path == "" || !filepath.IsAbs(u.Path) {
		return nil, &URLError{URL: Redact(rawURL), Problem: "want an absolute path: file:///ABSOLUTE/PATH"}
	}
	fs, err := store.NewFS(u.Path)
	if err != nil {
		return nil, err
	}
	return store.Checked("file", fs), nil
}

// plugin launches the store plugin that declares u's scheme, for rawURL,
// and checks the URL's query keys against its declaration. Each store
// plugin is launched with the URL and asked its Info, a plugin named SCHEME
// or SCHEMEstore first; one that declares another scheme is stopped again.
func (o *Opener) plugin(ctx context.Context, rawURL string, u *url.URL) (store.Store, error) {
	var entries []plugin.Entry
	if o.Host != nil && o.Host.Catalog != nil {
		for _, e := range o.Host.Catalog.Entries() {
			if e.Kind == "store" {
				entries = append(entries, e)
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b plugin.Entry) int {
		return rank(a.Name, u.Scheme) - rank(b.Name, u.Scheme)
	})
	known := []string{FileScheme}
	var failed []string
	for _, e := range entries {
		s, info, err := o.Host.StoreAt(ctx, e.Name, rawURL)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", e.Name, err))
			continue
		}
		d, ok := ParseDecl(info.ConfigSchema)
		if ok && d.Scheme == u.Scheme {
			if err := checkQuery(rawURL, u, d); err != nil {
				o.Host.StopStoreAt(e.Name, rawURL)
				return nil, err
			}
			return s, nil
		}
		o.Host.StopStoreAt(e.Name, rawURL)
		if ok {
			known = append(known, d.Scheme)
		}
	}
	problem := fmt.Sprintf("no store serves the scheme %q; allowed: %s (schemes of the store plugins in plugins.yaml)", u.Scheme, strings.Join(known, ", "))
	if len(failed) > 0 {
		problem += "; could not ask " + strings.Join(failed, ", ")
	}
	return nil, &URLError{URL: Redact(rawURL), Problem: problem}
}

func rank(name, scheme string) int {
	switch name {
	case scheme, scheme + "store":
		return 0
	}
	return 1
}

func checkQuery(rawURL string, u *url.URL, d Decl) error {
	for k := range u.Query() {
		if _, ok := d.Query[k]; !ok {
			allowed := "none"
			if len(d.Query) > 0 {
				allowed = strings.Join(d.Keys(), ", ")
			}
			return &URLError{URL: Redact(rawURL), Problem: fmt.Sprintf("unknown query key %q; allowed: %s", k, allowed)}
		}
	}
	return nil
}
