package instance

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/uri"
)

// Opener chooses the place a URI names. The CLI makes one per process and
// asks it for every URI it is given, so it never learns which kind of
// instance it talks to.
type Opener struct {
	// StorageRoot is the local instance's root (see StorageRoot).
	StorageRoot string
	// ReadConfig gives the runtime name in a bundle's config blob and
	// refuses a bad config (see OpenFile).
	ReadConfig func(config []byte) (string, error)
	// Remote opens a cloud instance or an OCI registry (core/instance/remote
	// .Open; it lives in its own package, which imports this one): name as
	// the URI writes it, known its CLI config entry (nil when not logged
	// in). Nil refuses those URIs with *UnavailableError.
	Remote func(ctx context.Context, name string, known *Known, storageRoot string) (Instance, error)
	// OpenStore opens a store URL (core/storeurl). When the local
	// instance's store is set (StoreEnv, else the CLI config's `store:`),
	// the local instance is on that store; without OpenStore that is an
	// error.
	OpenStore func(ctx context.Context, rawURL string) (store.Store, error)

	once   sync.Once
	local  *Local
	err    error
	config *Config
}

// StoreEnv names the local instance's store by URL (file:///PATH,
// s3://BUCKET/PREFIX?endpoint=..., a store plugin's scheme), before the CLI
// config's `store:`; unset, it is the filesystem store under the storage
// root.
const StoreEnv = "SW_STORE"

// Local opens the local instance (once).
func (o *Opener) Local() (*Local, error) {
	o.once.Do(func() { o.local, o.err = o.openLocal() })
	return o.local, o.err
}

func (o *Opener) openLocal() (*Local, error) {
	raw, from := os.Getenv(StoreEnv), StoreEnv
	if raw == "" {
		cfg, err := o.Config()
		if err != nil {
			return nil, err
		}
		raw, from = cfg.Store, ConfigPath()+": store"
	}
	if raw == "" {
		return OpenLocal(o.StorageRoot)
	}
	if o.OpenStore == nil {
		return nil, fmt.Errorf("%s: this program cannot open store URLs", from)
	}
	st, err := o.OpenStore(context.Background(), raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return OpenLocalOn(o.StorageRoot, st)
}

// Open returns the instance u names: the local instance, or a .swrt file
// (u.File). Aliases are looked up in the CLI config (LoadConfig); a cloud
// instance (an alias, cloud://ALIAS, http(s)://host:port) or an OCI
// registry (oci://) is opened by Remote; a URL the user logged in to (the
// URI of an alias) takes that alias's credentials. The caller closes a
// File; closing the Local instance is a no-op.
func (o *Opener) Open(ctx context.Context, u uri.URI) (Instance, error) {
	if u.File != "" {
		l, err := o.Local()
		if err != nil {
			return nil, err
		}
		if k := kindOf(u); k != registry.KindRuntime {
			return OpenFile(u.File, l.TempDir(), configOfKind(k)), nil
		}
		return OpenFile(u.File, l.TempDir(), o.ReadConfig), nil
	}
	if u.IsLocal() {
		l, err := o.Local()
		if err != nil {
			return nil, err
		}
		return l.Of(kindOf(u)), nil
	}
	kind := "cloud"
	var known *Known
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(u.Instance, "oci://") {
		kind = "oci"
	} else if !strings.Contains(u.Instance, "://") {
		// An alias: it must be one the user logged in to.
		k, ok := cfg.Instances[u.Instance]
		if !ok {
			return nil, &UnknownAliasError{Alias: u.Instance, Known: cfg.Aliases()}
		}
		if k.Type == "standalone" {
			l, err := o.Local()
			if err != nil {
				return nil, err
			}
			return l.Of(kindOf(u)), nil
		}
		known = &k
	} else if a := cfg.AliasOf(u.Instance); a != "" {
		k := cfg.Instances[a]
		known = &k
	}
	if o.Remote == nil {
		return nil, &UnavailableError{Instance: u.Instance, Kind: kind}
	}
	return o.Remote(ctx, u.Instance, known, o.StorageRoot)
}

// Config is the CLI config (read once).
func (o *Opener) Config() (*Config, error) {
	if o.config != nil {
		return o.config, nil
	}
	c, err := LoadConfig()
	if err != nil {
		return nil, err
	}
	o.config = c
	return c, nil
}

// kindOf is the artifact kind u names; a URI that does not say names a
// runtime.
func kindOf(u uri.URI) registry.Kind {
	if k, err := registry.ParseKind(u.Artifact); err == nil {
		return k
	}
	return registry.KindRuntime
}

// configOfKind reads the name from the config blob of a model or dataset
// bundle ({"name", "kind"}) and refuses a bundle of another kind, so a
// .swds file given as a model says so.
func configOfKind(k registry.Kind) func([]byte) (string, error) {
	return func(config []byte) (string, error) {
		var c struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(config, &c); err != nil || c.Name == "" {
			return "", fmt.Errorf("the config blob names no %s", k)
		}
		if c.Kind != string(k) {
			return "", fmt.Errorf("the bundle holds a %s, not a %s", cmp.Or(c.Kind, "runtime"), k)
		}
		return c.Name, nil
	}
}
