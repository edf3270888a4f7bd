package storeurl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/storeurl"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/internal/testbin"
	"github.com/swcli/swcli/plugins/s3store/s3store"
)

// opener is an Opener over the built plugins (bin/plugins.yaml).
func opener(t *testing.T) *storeurl.Opener {
	t.Helper()
	cat, err := plugin.Load([]string{filepath.Join(testbin.Dir(t), plugin.FileName)})
	require.NoError(t, err)
	h := plugin.NewHost(cat, hclog.NewNullLogger())
	t.Cleanup(h.Close)
	return &storeurl.Opener{Host: h}
}

func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	val := bytes.Repeat([]byte("x"), 6<<20) // more than one part
	require.NoError(t, s.Put(ctx, "a/b", bytes.NewReader(val), store.PutOptions{}))
	rc, err := s.Get(ctx, "a/b", 0, -1)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.Equal(t, val, got)
}

func TestFileURL(t *testing.T) {
	dir := t.TempDir()
	s, err := (&storeurl.Opener{}).Open(t.Context(), "file://"+dir)
	require.NoError(t, err)
	roundTrip(t, s)
	var keys []string
	require.NoError(t, s.List(t.Context(), "", func(i store.Info) error { keys = append(keys, i.Key); return nil }))
	assert.Equal(t, []string{"a/b"}, keys, "the probe leaves nothing behind")

	for raw, want := range map[string]string{
		"file://relative/x":          "file:///ABSOLUTE/PATH",
		"file:///" + dir + "?sync=1": "takes no query keys",
		"/plain/path":                "not a URL",
	} {
		_, err := (&storeurl.Opener{}).Open(t.Context(), raw)
		require.Error(t, err, raw)
		assert.Contains(t, err.Error(), want, raw)
	}
}

// TestBadURLs: every mistake is one line saying what is allowed, and a
// secret never shows in it.
func TestBadURLs(t *testing.T) {
	o := opener(t)
	for raw, want := range map[string]string{
		"gcs://bucket/x": `no store serves the scheme "gcs"; allowed: file, s3`,
		"s3://bucket/x?endpoint=http://h&colour=1": `unknown query key "colour"; allowed: concurrency, endpoint, max_attempts, max_backoff, part_size, path_style, region, single_put_size`,
		"s3://AKIAEXAMPLE:hunter2secret@bucket/x":  "credentials do not belong in a store URL",
		"s3://bucket/x?secret_key=hunter2secret":   `query key "secret_key" looks like a credential`,
		"s3://bucket/x?aws_access_key_id=AKIAXXXX": `looks like a credential`,
	} {
		_, err := o.Open(t.Context(), raw)
		require.Error(t, err, raw)
		msg := err.Error()
		assert.Contains(t, msg, want, raw)
		assert.NotContains(t, msg, "hunter2secret", "a secret is never shown")
		assert.NotContains(t, msg, "\n", "one line")
	}
}

// TestS3Store opens s3:// through the plugin, launched from plugins.yaml
// with the URL, and reads back what the plugin wrote where the URL says.
func TestS3Store(t *testing.T) {
	srv := s3test.Start(t)
	s3test.CredentialsEnv(t)
	bucket := srv.Bucket(t)
	s, err := opener(t).Open(t.Context(), srv.URL(bucket, "team/a")+"&part_size=5MiB&single_put_size=5MiB")
	require.NoError(t, err)
	roundTrip(t, s)
	direct, err := s3store.New(t.Context(), s3store.Config{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: "team/a",
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}, s3store.Options{})
	require.NoError(t, err)
	info, err := direct.Stat(t.Context(), "a/b")
	require.NoError(t, err)
	assert.Equal(t, int64(6<<20), info.Size)
}

// TestS3WrongCredentialsAndBucket: one clear line naming the bucket and the
// endpoint, at open (the probe), without the secret.
func TestS3WrongCredentialsAndBucket(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	o := opener(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "hunter2-wrong-secret")
	_, err := o.Open(t.Context(), srv.URL(bucket, "p")+"&max_attempts=1")
	require.Error(t, err)
	msg := err.Error()
	t.Log(msg)
	assert.Contains(t, msg, bucket)
	assert.Contains(t, msg, srv.Endpoint)
	assert.Regexp(t, `denied|credentials`, msg)
	assert.NotContains(t, msg, "hunter2")
	assert.NotContains(t, msg, "\n")

	s3test.CredentialsEnv(t)
	_, err = opener(t).Open(t.Context(), srv.URL("no-such-bucket", "p")+"&max_attempts=1")
	require.Error(t, err)
	msg = err.Error()
	t.Log(msg)
	assert.Contains(t, msg, `bucket "no-such-bucket" does not exist at `+srv.Endpoint)
	assert.NotContains(t, msg, s3test.SecretKey)
	assert.NotContains(t, msg, "\n")
}

// TestS3Retries: throttling (503 SlowDown) and dropped connections are
// retried by the SDK's retryer; the calls succeed.
func TestS3Retries(t *testing.T) {
	srv := s3test.Start(t)
	s3test.CredentialsEnv(t)
	p := s3test.NewProxy(t, srv)
	s, err := opener(t).Open(t.Context(), p.URL(srv.Bucket(t), "")+"&max_backoff=50ms&part_size=5MiB&single_put_size=5MiB")
	require.NoError(t, err)
	p.SlowDown(3)
	roundTrip(t, s)
	p.Drop(2)
	roundTrip(t, s)
	assert.Equal(t, int64(5), p.Faults.Load(), "every fault was met and retried")
}

// ignoresConditions stands in for an S3-compatible service without
// conditional writes: it drops IfNoneMatch and IfMatch, as such a service
// ignores the headers.
type ignoresConditions struct{ store.Store }

func (s ignoresConditions) Put(ctx context.Context, key string, r io.Reader, _ store.PutOptions) error {
	return s.Store.Put(ctx, key, r, store.PutOptions{})
}

// TestProbeRefusesServiceWithoutConditions: a store that ignores
// conditional writes is refused with a line saying what is needed.
func TestProbeRefusesServiceWithoutConditions(t *testing.T) {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, storeurl.Probe(t.Context(), fs))
	err = storeurl.Probe(t.Context(), ignoresConditions{fs})
	var ci *storeurl.ConditionsIgnoredError
	require.ErrorAs(t, err, &ci)
	assert.Contains(t, err.Error(), "If-None-Match")
	assert.Contains(t, err.Error(), "conditional writes")
	var left []string
	require.NoError(t, fs.List(t.Context(), "", func(i store.Info) error { left = append(left, i.Key); return nil }))
	assert.Empty(t, left, "the probe cleans up")
}

func TestParseDeclOfS3Store(t *testing.T) {
	d, ok := storeurl.ParseDecl(s3store.ConfigSchema)
	require.True(t, ok)
	assert.Equal(t, "s3", d.Scheme)
	assert.ElementsMatch(t, s3store.QueryKeys(), d.Keys(), "the schema and the parser list the same keys")
	assert.True(t, strings.HasPrefix(d.Form, "s3://BUCKET"))
}

// TestSchemeFoundByDeclaration: a store plugin is found by the scheme it
// declares, whatever its name in plugins.yaml (here the s3store binary
// installed as "objects", as a third-party plugin would be).
func TestSchemeFoundByDeclaration(t *testing.T) {
	srv := s3test.Start(t)
	s3test.CredentialsEnv(t)
	yaml := filepath.Join(t.TempDir(), plugin.FileName)
	bin := filepath.Join(testbin.Dir(t), "swcli-plugin-s3store")
	require.NoError(t, os.WriteFile(yaml, []byte("plugins:\n  - name: objects\n    kind: store\n    command: "+bin+"\n"), 0o644))
	cat, err := plugin.Load([]string{yaml})
	require.NoError(t, err)
	h := plugin.NewHost(cat, hclog.NewNullLogger())
	t.Cleanup(h.Close)
	s, err := (&storeurl.Opener{Host: h}).Open(t.Context(), srv.URL(srv.Bucket(t), "x"))
	require.NoError(t, err)
	roundTrip(t, s)
}

// TestProbeCache: with a probe cache, a second open of the same store URL
// (the next short command) sends S3 no request at all; the entry names
// neither a credential nor anything but the redacted URL; it expires after
// its TTL; and a failed request forgets it, so the next open probes again
// and says what is wrong.
func TestProbeCache(t *testing.T) {
	srv := s3test.Start(t)
	s3test.CredentialsEnv(t)
	p := s3test.NewProxy(t, srv)
	raw := p.URL(srv.Bucket(t), "team") + "&max_attempts=1"
	now := time.Now()
	cache := &storeurl.ProbeCache{Dir: t.TempDir(), TTL: time.Minute, Now: func() time.Time { return now }}
	open := func() (store.Store, int64, error) {
		t.Helper()
		o := opener(t)
		o.ProbeCache = cache
		before := p.Requests.Load()
		s, err := o.Open(t.Context(), raw)
		return s, p.Requests.Load() - before, err
	}

	_, n, err := open()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, int64(5), "the first open probes")
	s, n, err := open()
	require.NoError(t, err)
	assert.Zero(t, n, "an open within the TTL sends nothing")
	before := p.Requests.Load()
	require.NoError(t, s.List(t.Context(), "", func(store.Info) error { return nil }))
	assert.Equal(t, int64(1), p.Requests.Load()-before, "a List of an empty store is one request")

	ents, err := os.ReadDir(cache.Dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	b, err := os.ReadFile(filepath.Join(cache.Dir, ents[0].Name()))
	require.NoError(t, err)
	for _, secret := range []string{s3test.AccessKey, s3test.SecretKey} {
		assert.NotContains(t, string(b), secret)
		assert.NotContains(t, ents[0].Name(), secret)
	}
	var rec struct {
		Store    string    `json:"store"`
		ProbedAt time.Time `json:"probed_at"`
	}
	require.NoError(t, json.Unmarshal(b, &rec), "%s", b)
	assert.Equal(t, storeurl.Redact(raw), rec.Store)

	now = now.Add(2 * time.Minute)
	_, n, err = open()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, int64(5), "after the TTL the open probes again")
	_, n, _ = open()
	assert.Zero(t, n)

	// S3 goes away: the failed request forgets the entry; the next open
	// probes and fails with the probe's clear error.
	s, _, err = open()
	require.NoError(t, err)
	p.Stop()
	require.Error(t, s.List(t.Context(), "", func(store.Info) error { return nil }))
	_, n, err = open()
	require.Error(t, err, "the store is down and the cache was forgotten")
	assert.Contains(t, err.Error(), "store "+storeurl.Redact(raw))
	require.NoError(t, p.Start())
	_, n, err = open()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, int64(5), "a failed probe is not remembered")

	// Not-found answers are answers, not failures: the entry stays.
	s, _, err = open()
	require.NoError(t, err)
	_, err = s.Stat(t.Context(), "no/such/key")
	var nf *store.NotFoundError
	require.ErrorAs(t, err, &nf)
	_, n, err = open()
	require.NoError(t, err)
	assert.Zero(t, n)
}
