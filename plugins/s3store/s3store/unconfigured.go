package s3store

import (
	"context"
	"io"

	"github.com/swcli/swcli/core/plugin/base"
	"github.com/swcli/swcli/core/store"
)

// FromEnv makes the store from the environment (ConfigFromEnv). When the
// configuration is wrong (no bucket, a bad value) it returns a store that
// still answers Info, so `swcli plugin install` and `swcli plugin list` can
// describe the plugin, and fails every other call with the configuration
// error.
func FromEnv(ctx context.Context, opts Options) store.Store {
	cfg, err := ConfigFromEnv()
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
