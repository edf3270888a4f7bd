package remote_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/uri"
)

var ctx = context.Background()

const adminToken = "swt_test_admin_token_0123456789abcdef"

// cloud is a real swcli server (core/server over a filesystem store) on
// 127.0.0.1 that counts the blob bytes it receives.
type cloud struct {
	url      string
	received atomic.Int64 // body bytes of POST, PATCH and PUT on /v2/.../blobs/uploads
}

func startCloud(t *testing.T) *cloud {
	t.Helper()
	dir := t.TempDir()
	st, err := store.NewFS(filepath.Join(dir, "store"))
	require.NoError(t, err)
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	require.NoError(t, err)
	srv, err := server.New(server.Config{Accounts: acc, Registry: registry.New(st), DataDir: dir, AdminToken: adminToken})
	require.NoError(t, err)
	require.NoError(t, srv.Bootstrap(ctx))
	c := &cloud{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != "GET" && r.Method != "DELETE" {
			r.Body = countingBody{r.Body, &c.received}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	c.url = hs.URL
	return c
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// fixture: a local instance with runtime "rt" in project self, tagged prod:
// a config and one layer of incompressible bytes.
type fixture struct {
	root  string
	local *instance.Local
	v     instance.Version
	layer ocispec.Descriptor
}

func newFixture(t *testing.T, size int) *fixture {
	t.Helper()
	root := t.TempDir()
	l, err := instance.OpenLocal(root)
	require.NoError(t, err)
	src := t.TempDir()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	require.NoError(t, os.WriteFile(filepath.Join(src, "data.bin"), data, 0o644))
	var buf bytes.Buffer
	info, err := bundle.PackLayer(ctx, &buf, src, []string{"data.bin"}, bundle.PackOptions{})
	require.NoError(t, err)
	layer := bundle.LayerDescriptor(info, bundle.RoleSnapshot, "")
	_, err = l.Registry().PutBlob(ctx, bytes.NewReader(buf.Bytes()), layer.Digest)
	require.NoError(t, err)
	config := []byte(`{"name":"rt"}`)
	cd := bundle.ConfigDescriptor(config)
	_, err = l.Registry().PutBlob(ctx, bytes.NewReader(config), cd.Digest)
	require.NoError(t, err)
	m, err := bundle.Manifest(cd, []ocispec.Descriptor{layer}, nil)
	require.NoError(t, err)
	v, err := l.PutManifest(ctx, "self", "rt", m, []string{"prod"})
	require.NoError(t, err)
	return &fixture{root: root, local: l, v: v, layer: layer}
}

func open(t *testing.T, name, token, root string) instance.Instance {
	t.Helper()
	var k *instance.Known
	if token != "" {
		k = &instance.Known{URI: name, Token: token, Type: "cloud"}
	}
	in, err := remote.Open(ctx, name, k, root)
	require.NoError(t, err)
	return in
}

func TestCloudCopyBothWaysMovesOnlyMissingBlobs(t *testing.T) {
	c := startCloud(t)
	f := newFixture(t, 64<<10)
	dst := open(t, c.url, adminToken, f.root)

	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{Project: "self"}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Copied)
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)
	assert.Equal(t, f.v.Digest, res.Version.Digest)
	sent := c.received.Load()
	assert.GreaterOrEqual(t, sent, f.layer.Size)

	// Again: no blob moves, the same version.
	res, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{Project: "self"}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Copied)
	assert.Equal(t, sent, c.received.Load(), "a re-push sends no blob bytes")
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)

	// Listings through the JSON API.
	rts, err := dst.ListRuntimes(ctx, "self", false)
	require.NoError(t, err)
	require.Len(t, rts, 1)
	assert.Equal(t, "rt", rts[0].Name)
	vs, err := dst.ListVersions(ctx, "self", "rt", false)
	require.NoError(t, err)
	require.Len(t, vs, 1)

	// Back to a fresh local instance: verified, tagged there afresh.
	back, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	src := open(t, c.url, adminToken, back.Root())
	res, err = instance.Copy(ctx, src, instance.Ref{Project: "self", Name: "rt", Version: "v0"}, back, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Copied)
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)
	v, err := back.Resolve(ctx, instance.Ref{Name: "rt", Version: "prod"}, false)
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, v.Digest)

	// Tag, untag, remove, recover on the cloud.
	_, err = dst.Tag(ctx, instance.Ref{Name: "rt", Version: "v0"}, []string{"stable"}, false)
	require.NoError(t, err)
	v, err = dst.Untag(ctx, instance.Ref{Name: "rt", Version: "v0"}, []string{"stable"})
	require.NoError(t, err)
	assert.NotContains(t, v.Tags, "stable")
	_, err = dst.Untag(ctx, instance.Ref{Name: "rt", Version: "v0"}, []string{"nope"})
	var tnf *registry.TagNotFoundError
	assert.ErrorAs(t, err, &tnf)
	removed, err := dst.Remove(ctx, instance.Ref{Name: "rt", Version: "v0"}, false)
	require.NoError(t, err)
	assert.Len(t, removed, 1)
	_, err = dst.Resolve(ctx, instance.Ref{Name: "rt", Version: "v0"}, false)
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf)
	_, err = dst.Recover(ctx, instance.Ref{Name: "rt", Version: "v0"})
	require.NoError(t, err)

	// The whole runtime: one request, every version gone, recoverable.
	removed, err = dst.Remove(ctx, instance.Ref{Name: "rt"}, false)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	assert.Equal(t, f.v.Digest, removed[0].Digest)
	_, err = dst.Resolve(ctx, instance.Ref{Name: "rt", Version: "latest"}, false)
	assert.ErrorAs(t, err, &nf)
	_, err = dst.Remove(ctx, instance.Ref{Name: "rt"}, false)
	assert.ErrorAs(t, err, &nf, "nothing left to remove says so")
	_, err = dst.Recover(ctx, instance.Ref{Name: "rt", Version: "v0"})
	require.NoError(t, err)
}

func TestCloudTagsRules(t *testing.T) {
	c := startCloud(t)
	a := newFixture(t, 1<<10)
	b := newFixture(t, 1<<10)
	dst := open(t, c.url, adminToken, a.root)
	_, err := instance.Copy(ctx, a.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	// b's prod is on a's version at the destination: kept there without force.
	res, err := instance.Copy(ctx, b.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"v1", "latest"}, res.Version.Tags, "fresh vN, latest moves")
	assert.Equal(t, []string{"prod"}, res.TagsKept)
	v, err := dst.Resolve(ctx, instance.Ref{Name: "rt", Version: "prod"}, false)
	require.NoError(t, err)
	assert.Equal(t, a.v.Digest, v.Digest)
	// With force it moves.
	res, err = instance.Copy(ctx, b.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"v1", "latest", "prod"}, res.Version.Tags)
}

// A copy stopped in the middle of a blob resumes inside it, from a new
// client (the session lives in the state file under the storage root).
func TestCloudPushResumesInsideTheBlob(t *testing.T) {
	old := remote.ChunkSize
	remote.ChunkSize = 16 << 10
	t.Cleanup(func() { remote.ChunkSize = old })
	c := startCloud(t)
	f := newFixture(t, 256<<10)
	dst := open(t, c.url, adminToken, f.root)
	require.NoError(t, dst.PrepareWrite(ctx, instance.Ref{Project: "self", Name: "rt"}, false))
	w, err := dst.Writer(ctx, f.layer)
	require.NoError(t, err)
	rc, err := f.local.Get(ctx, f.layer.Digest, 0)
	require.NoError(t, err)
	half := f.layer.Size / 2
	_, err = io.CopyN(w, rc, half)
	require.NoError(t, err)
	rc.Close()
	require.NoError(t, w.Close()) // the client dies here
	before := c.received.Load()
	require.GreaterOrEqual(t, before, half-remote.ChunkSize)

	dst2 := open(t, c.url, adminToken, f.root)
	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst2, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	again := c.received.Load() - before
	t.Logf("layer %d bytes, %d sent before the stop, %d after", f.layer.Size, before, again)
	assert.LessOrEqual(t, again, f.layer.Size-before+remote.ChunkSize+1024, "only the rest of the layer (and the config) is sent")
	assert.Less(t, again, f.layer.Size)
	assert.Equal(t, f.v.Digest, res.Version.Digest)
}

func TestCloudBadInputs(t *testing.T) {
	c := startCloud(t)
	f := newFixture(t, 1<<10)
	for name, tc := range map[string]struct {
		inst, token, project, want string
	}{
		"wrong token": {c.url, "swt_wrong", "self", "credentials were refused"},
		"anonymous":   {c.url, "", "self", "credentials were refused"},
		"no project":  {c.url, adminToken, "nope", "project nope not found"},
		"unreachable": {"http://127.0.0.1:1", adminToken, "self", "cannot reach http://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			dst := open(t, tc.inst, tc.token, f.root)
			_, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{Project: tc.project}, instance.CopyOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), adminToken)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	assert.Zero(t, c.received.Load(), "nothing moved")
	src := open(t, c.url, adminToken, f.root)
	_, err := src.Resolve(ctx, instance.Ref{Name: "rt", Version: "v9"}, false)
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf)
}

// startRegistry runs the CNCF distribution registry on 127.0.0.1.
func startRegistry(t *testing.T, htpasswd ...string) string {
	t.Helper()
	bin := filepath.Join(os.Getenv("HOME"), "go", "bin", "registry")
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no CNCF registry at ~/go/bin/registry")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", dir, addr)
	if len(htpasswd) == 2 {
		hash, err := bcrypt.GenerateFromPassword([]byte(htpasswd[1]), bcrypt.MinCost)
		require.NoError(t, err)
		pw := filepath.Join(dir, "htpasswd")
		require.NoError(t, os.WriteFile(pw, []byte(htpasswd[0]+":"+string(hash)+"\n"), 0o600))
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", pw)
	}
	cfgFile := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o644))
	cmd := exec.Command(bin, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("registry did not start")
	return ""
}

func TestOCIRegistryCopyBothWays(t *testing.T) {
	old := remote.ChunkSize
	remote.ChunkSize = 16 << 10
	t.Cleanup(func() { remote.ChunkSize = old })
	addr := startRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	f := newFixture(t, 100<<10)
	dst := open(t, "oci://"+addr, "", f.root)
	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Copied)
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)

	// Standard tools read it.
	if crane, err := exec.LookPath(filepath.Join(os.Getenv("HOME"), "go", "bin", "crane")); err == nil {
		out, err := exec.Command(crane, "ls", "--insecure", addr+"/self/runtime/rt").CombinedOutput()
		require.NoError(t, err, string(out))
		assert.ElementsMatch(t, []string{"v0", "latest", "prod"}, strings.Fields(string(out)))
		out, err = exec.Command(crane, "manifest", "--insecure", addr+"/self/runtime/rt:prod").CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Contains(t, string(out), bundle.ArtifactType)
	}

	// Again: nothing moves; back into a fresh local store.
	res, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Copied)
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)
	back, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	src := open(t, "oci://"+addr, "", back.Root())
	res, err = instance.Copy(ctx, src, instance.Ref{Name: "rt", Version: "prod"}, back, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, res.Version.Digest)
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)

	// A registry keeps no trash.
	_, err = src.Remove(ctx, instance.Ref{Name: "rt", Version: "v0"}, false)
	var ue *instance.UnsupportedError
	assert.True(t, errors.As(err, &ue))
}

// Credentials come from the Docker config (as docker login / oras login
// write it); without them the registry's refusal is one clear line.
func TestOCIRegistryCredentialsFromDockerConfig(t *testing.T) {
	addr := startRegistry(t, "alice", "s3cret-pass")
	f := newFixture(t, 4<<10)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dst := open(t, "oci://"+addr, "", f.root)
	_, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "credentials were refused")
	assert.NotContains(t, err.Error(), "\n")

	dc := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pass"))
	require.NoError(t, os.WriteFile(filepath.Join(dc, "config.json"), []byte(`{"auths":{"`+addr+`":{"auth":"`+auth+`"}}}`), 0o600))
	t.Setenv("DOCKER_CONFIG", dc)
	dst = open(t, "oci://"+addr, "", f.root)
	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)
	assert.NotContains(t, fmt.Sprint(res), "s3cret")
}

// A blob whose bytes do not hash to its descriptor is refused by the
// receiver on the wire; nothing is stored.
func TestCloudDigestMismatchOnTheWire(t *testing.T) {
	c := startCloud(t)
	f := newFixture(t, 1<<10)
	dst := open(t, c.url, adminToken, f.root)
	require.NoError(t, dst.PrepareWrite(ctx, instance.Ref{Name: "rt"}, false))
	desc := f.layer
	w, err := dst.Writer(ctx, desc)
	require.NoError(t, err)
	_, err = w.Write(bytes.Repeat([]byte("x"), int(desc.Size)))
	require.NoError(t, err)
	err = w.Commit(ctx)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	assert.Contains(t, err.Error(), "mismatch")
	require.NoError(t, w.Close())
	_, err = dst.Stat(ctx, desc.Digest)
	var bu *registry.BlobUnknownError
	assert.ErrorAs(t, err, &bu)
}

// uploadStates lists the upload state files under a storage root.
func uploadStates(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "uploads", "*.json"))
	require.NoError(t, err)
	return files
}

// openURI opens the instance of an oci:// URI and gives the Ref it names.
func openURI(t *testing.T, s, root string) (instance.Instance, instance.Ref) {
	t.Helper()
	u, err := uri.Parse(s)
	require.NoError(t, err)
	return open(t, u.Instance, "", root), instance.RefOf(u)
}

// oci://HOST/REPO:TAG with a repository of any depth, both ways, against the
// CNCF registry; oras and crane read what was pushed.
func TestOCIRegistryAnyRepositoryBothWays(t *testing.T) {
	old := remote.ChunkSize
	remote.ChunkSize = 16 << 10
	t.Cleanup(func() { remote.ChunkSize = old })
	addr := startRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	f := newFixture(t, 100<<10)
	ref := "oci://" + addr + "/team/envs/rt:v1"
	dst, to := openURI(t, ref, f.root)
	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, to, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Copied)
	assert.Equal(t, []string{"v1", "latest", "prod"}, res.Version.Tags, "the tag the URI names, not a fresh vN")
	assert.Equal(t, "oci://"+addr+"/team/envs/rt@"+string(f.v.Digest), dst.URI(res.Version).String())
	assert.Empty(t, uploadStates(t, f.root), "no upload state is left after a complete copy")

	bin := filepath.Join(os.Getenv("HOME"), "go", "bin")
	out, err := exec.Command(filepath.Join(bin, "crane"), "ls", "--insecure", addr+"/team/envs/rt").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.ElementsMatch(t, []string{"v1", "latest", "prod"}, strings.Fields(string(out)))
	out, err = exec.Command(filepath.Join(bin, "oras"), "manifest", "fetch", "--plain-http", addr+"/team/envs/rt:v1").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), bundle.ArtifactType)
	assert.Contains(t, string(out), string(f.layer.Digest))
	blob := filepath.Join(t.TempDir(), "layer")
	out, err = exec.Command(filepath.Join(bin, "oras"), "blob", "fetch", "--plain-http", "--output", blob, addr+"/team/envs/rt@"+string(f.layer.Digest)).CombinedOutput()
	require.NoError(t, err, string(out))
	data, err := os.ReadFile(blob)
	require.NoError(t, err)
	assert.Equal(t, f.layer.Digest, digest.FromBytes(data))

	// The same version again: nothing moves. Another version to the same
	// tag is refused without force (nothing changes), moves it with force.
	res, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, to, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Copied)
	g := newFixture(t, 1<<10)
	dst2, _ := openURI(t, ref, g.root)
	_, err = instance.Copy(ctx, g.local, instance.Ref{Name: "rt"}, dst2, to, instance.CopyOptions{})
	var te *registry.TagExistsError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, err.Error(), "v1")
	v, err := dst2.Resolve(ctx, to, false)
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, v.Digest, "the refused copy moved no tag")

	// Back, by tag and by digest, into a fresh local store under the
	// repository's last component.
	for _, from := range []string{ref, "oci://" + addr + "/team/envs/rt@" + string(f.v.Digest)} {
		back, err := instance.OpenLocal(t.TempDir())
		require.NoError(t, err)
		src, fr := openURI(t, from, back.Root())
		res, err = instance.Copy(ctx, src, fr, back, instance.Ref{}, instance.CopyOptions{})
		require.NoError(t, err, from)
		assert.Equal(t, f.v.Digest, res.Version.Digest)
		assert.Equal(t, "rt", res.Version.Name)
		vs, err := src.ListVersions(ctx, "", "rt", false)
		require.NoError(t, err)
		require.Len(t, vs, 1)
	}

	res, err = instance.Copy(ctx, g.local, instance.Ref{Name: "rt"}, dst2, to, instance.CopyOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, g.v.Digest, res.Version.Digest)
	assert.Contains(t, res.Version.Tags, "v1")
}

// An upload interrupted in the middle of a blob leaves a state file; once a
// version with that blob is complete at the destination (here the blob was
// already there), the state file and the session are gone.
func TestOCIUploadStateForgottenWhenTheVersionIsComplete(t *testing.T) {
	old := remote.ChunkSize
	remote.ChunkSize = 16 << 10
	t.Cleanup(func() { remote.ChunkSize = old })
	addr := startRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	f := newFixture(t, 200<<10)
	dst, to := openURI(t, "oci://"+addr+"/a/rt", f.root)
	_, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, to, instance.CopyOptions{})
	require.NoError(t, err)

	require.NoError(t, dst.PrepareWrite(ctx, to, false))
	w, err := dst.Writer(ctx, f.layer)
	require.NoError(t, err)
	rc, err := f.local.Get(ctx, f.layer.Digest, 0)
	require.NoError(t, err)
	_, err = io.CopyN(w, rc, f.layer.Size/2)
	rc.Close()
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.Len(t, uploadStates(t, f.root), 1, "an interrupted upload keeps its state for a resume")

	dst, _ = openURI(t, "oci://"+addr+"/a/rt", f.root)
	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, to, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Copied)
	assert.Empty(t, uploadStates(t, f.root))
}

// A registry that takes only container images (as some hosted registries
// do) refuses the manifest: one clear line that names the artifact type,
// and no tag appears. The refusal is a proxy in front of the real CNCF
// registry that answers a manifest PUT of any artifactType with
// MANIFEST_INVALID, as such registries answer; no registry that runs here
// has such a policy.
func TestOCIRegistryRejectsTheArtifactType(t *testing.T) {
	addr := startRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	target, err := url.Parse("http://" + addr)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PUT" && strings.Contains(r.URL.Path, "/manifests/") {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(`"artifactType"`)) {
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid: only container images are accepted"}]}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })

	f := newFixture(t, 4<<10)
	dst, to := openURI(t, "oci://"+ln.Addr().String()+"/team/rt:v1", f.root)
	_, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, to, instance.CopyOptions{})
	require.Error(t, err)
	assert.Equal(t, int64(1), refused.Load())
	assert.Contains(t, err.Error(), "the registry rejects this artifact")
	assert.Contains(t, err.Error(), bundle.ArtifactType)
	assert.Contains(t, err.Error(), "only container images are accepted")
	assert.NotContains(t, err.Error(), "\n")
	_, err = dst.ListVersions(ctx, "", "rt", false)
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf, "no tag was made")
}
