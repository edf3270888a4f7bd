package instance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

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
// registry (oci://) gives *UnavailableError until its client exists. The
// caller closes a File; closing the Local instance is a no-op.
func (o *Opener) Open(ctx context.Context, u uri.URI) (Instance, error) {
	if u.File != "" {
		l, err := o.Local()
		if err != nil {
			return nil, err
		}
		return OpenFile(u.File, l.TempDir(), o.ReadConfig), nil
	}
	if u.IsLocal() {
		return o.Local()
	}
	kind := "cloud"
	if strings.HasPrefix(u.Instance, "oci://") {
		kind = "oci"
	} else if !strings.Contains(u.Instance, "://") {
		// An alias: it must be one the user logged in to.
		cfg, err := o.Config()
		if err != nil {
			return nil, err
		}
		k, ok := cfg.Instances[u.Instance]
		if !ok {
			return nil, &UnknownAliasError{Alias: u.Instance, Known: cfg.Aliases()}
		}
		if k.Type == "standalone" {
			return o.Local()
		}
	}
	return nil, &UnavailableError{Instance: u.Instance, Kind: kind}
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
