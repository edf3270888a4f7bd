package s3store

import (
	"context"
	"io"
	"net/http"
	"os"

	"github.com/swcli/swcli/core/plugin/base"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk"
)

// FromEnv makes the store from the environment: from the store URL in
// SW_STORE_URL (ConfigFromURL) when the host set one, else from the SW_S3_*
// variables (ConfigFromEnv). When the
// configuration is wrong (no bucket, a bad value) it returns a store that
// still answers Info, so `swcli plugin install` and `swcli plugin list` can
// describe the plugin, and fails every other call with the configuration
// error.
func FromEnv(ctx context.Context, opts Options) store.Store {
	var cfg Config
	var err error
	if u := os.Getenv(EnvStoreURL); u != "" {
		cfg, err = ConfigFromURL(u)
	} else {
		cfg, err = ConfigFromEnv()
	}
	if err == nil {
		var s *Store
		if s, err = New(ctx, cfg, opts); err == nil {
			return s
		}
	}
	return &unconfigured{err: err, version: opts.Version}
}

type unconfigured struct {
	err     error
	version string
}

var _ store.Store = (*unconfigured)(nil)

func (u *unconfigured) Info(context.Context) (base.Info, error) { return PluginInfo(u.version), nil }

func (u *unconfigured) Put(context.Context, string, io.Reader, store.PutOptions) error { return u.err }

func (u *unconfigured) Get(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, u.err
}

func (u *unconfigured) Stat(context.Context, string) (store.Info, error) {
	return store.Info{}, u.err
}

func (u *unconfigured) List(context.Context, string, func(store.Info) error) error { return u.err }

func (u *unconfigured) Delete(context.Context, string) error { return u.err }

// Compose, GetURL and the URLPutter calls fail like every call, and make the Info of an
// unconfigured plugin (`swcli plugin info`) declare what a configured one
// does.
func (u *unconfigured) Compose(context.Context, string, []string) error { return u.err }

func (u *unconfigured) GetURL(context.Context, string, int64, int64) (string, http.Header, error) {
	return "", nil, u.err
}

func (u *unconfigured) StartURLPut(context.Context, string, int64, store.PutOptions) (sdk.URLPutPlan, error) {
	return sdk.URLPutPlan{}, u.err
}

func (u *unconfigured) PutURL(context.Context, string, string, int32, int64, uint32, store.PutOptions) (string, http.Header, error) {
	return "", nil, u.err
}

func (u *unconfigured) FinishURLPut(context.Context, string, string, []sdk.URLPart, store.PutOptions, bool) error {
	return u.err
}
