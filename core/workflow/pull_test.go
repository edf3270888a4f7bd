package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/layercache"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/treecache"
)

const pullToken = "swt_pull_test_admin_token_0123456789"

// pullServer is a real swcli server on 127.0.0.1 holding the rs fixture's
// version in the public project pub; while corrupt is set, it serves blob
// bad with its last byte changed.
type pullServer struct {
	url     string
	bad     digest.Digest
	corrupt atomic.Bool
}

func startPullServer(t *testing.T, f *rsFixture) *pullServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.NewFS(filepath.Join(dir, "store"))
	require.NoError(t, err)
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	require.NoError(t, err)
	srv, err := server.New(server.Config{Accounts: acc, Registry: registry.New(st), DataDir: dir, AdminToken: pullToken})
	require.NoError(t, err)
	require.NoError(t, srv.Bootstrap(ctx))
	_, err = acc.CreateProject(ctx, "pub", "admin", true)
	require.NoError(t, err)
	ps := &pullServer{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ps.corrupt.Load() || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+ps.bad.String()) {
			srv.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 0 {
			body[len(body)-1] ^= 0xff
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(hs.Close)
	ps.url = hs.URL

	// Push the fixture's version there.
	pusher, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	for d, b := range f.blobs {
		_, err := pusher.Registry().PutBlob(ctx, bytes.NewReader(b), d)
		require.NoError(t, err)
	}
	config, err := json.Marshal(f.rm)
	require.NoError(t, err)
	cd := bundle.ConfigDescriptor(config)
	_, err = pusher.Registry().PutBlob(ctx, bytes.NewReader(config), cd.Digest)
	require.NoError(t, err)
	m, err := bundle.Manifest(cd, f.layers, nil)
	require.NoError(t, err)
	_, err = pusher.PutManifest(ctx, "self", f.rm.Name, m, nil)
	require.NoError(t, err)
	dst, err := remote.Open(ctx, ps.url, &instance.Known{URI: ps.url, Token: pullToken, Type: "cloud"}, pusher.Root())
	require.NoError(t, err)
	_, err = instance.Copy(ctx, pusher, instance.Ref{Name: f.rm.Name}, dst, instance.Ref{Project: "pub"}, instance.CopyOptions{})
	require.NoError(t, err)
	return ps
}

// `runtime run` of a cloud version: the env layers are unpacked from the
// wire as they download, so the restore only links. A server that serves
// one wrong byte of the package layer leaves no environment, no version in
// the store and no layer cache entry of that layer that looks complete;
// the same pull from a good server then works.
func TestPullUnpacksFromTheWireAndDropsABadLayer(t *testing.T) {
	t.Setenv("SW_CLI_CONFIG", filepath.Join(t.TempDir(), "config.yaml"))
	ctx := context.Background()
	f := rsNewFixture(t)
	ps := startPullServer(t, f)
	pkg := f.layers[2]
	require.Equal(t, bundle.RolePackage, pkg.Annotations[bundle.AnnotationRole])
	ps.bad = pkg.Digest
	var log bytes.Buffer // hclog serializes its writes
	f.svc.Log = hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &log})
	src := ps.url + "/project/pub/runtime/" + f.rm.Name + "/version/latest"
	entry := func(d digest.Digest) bool {
		return (&treecache.Cache{Root: layercache.Dir(f.svc.StorageRoot)}).Has(treecache.Key(string(d)))
	}

	ps.corrupt.Store(true)
	_, err := f.svc.OpenVersion(ctx, src)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm, "the wrong byte is a digest mismatch")
	assert.False(t, entry(pkg.Digest), "no complete cache entry of the bad layer")
	envs, _ := os.ReadDir(f.svc.CacheDir())
	assert.Empty(t, envs, "no environment")
	l, err := f.svc.Instances().Local()
	require.NoError(t, err)
	_, err = l.Resolve(ctx, instance.Ref{Project: "pub", Name: f.rm.Name}, false)
	assert.Error(t, err, "no version in the store")
	_, err = l.Stat(ctx, pkg.Digest)
	assert.Error(t, err, "the bad blob is not stored")

	ps.corrupt.Store(false)
	tgt, err := f.svc.OpenVersion(ctx, src)
	require.NoError(t, err)
	assert.True(t, entry(pkg.Digest))
	assert.True(t, entry(f.layers[1].Digest), "the base layer too")
	out := log.String()
	assert.Contains(t, out, `digest=`+pkg.Digest.String()+` size=`)
	assert.Regexp(t, `layer unpacked during the pull: digest=`+pkg.Digest.String()+` size=[0-9]+ from="the wire"`, out)
	assert.NotContains(t, out, "layer unpacked into the layer cache", "the restore unpacked nothing itself")
	got, err := os.ReadFile(filepath.Join(tgt.Prefix, "lib", "rs_pkg.py"))
	require.NoError(t, err)
	assert.Equal(t, "x = 1\n", string(got))
}
