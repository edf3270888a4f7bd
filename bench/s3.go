package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/storeurl"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/plugins/s3store/s3store"
)

// s3: the organisation's own bucket, on versitygw started here on
// 127.0.0.1 (skipped, saying so, when it is not installed).
//
//   - s3 plugin put/get: MB/s of Put and Get of 8 x 16 MiB values through
//     the s3store plugin (launched from plugins.yaml with a store URL; the
//     bytes cross on its raw channel, a Get from the URL it presigns)
//     against the same store code with the same settings (checksums, payload
//     signing, part sizes: s3store.New's defaults on both sides) in process,
//     so the ratio is the plugin hop only. Target >= 0.8x.
//   - s3 server push/pull: a large runtime (SWCLI_BENCH_S3_MIB, default 600
//     MiB in 12 layers, 4 at a time) pushed and pulled over the OCI /v2 API
//     (net/http) to a server on S3 (through the plugin: blob GETs
//     redirected to presigned URLs, the default; and once more proxied,
//     --blob-redirect=false) against a server on the filesystem store.
//     Target >= 0.7x on the default.
//   - s3 scale-out: 20 concurrent clients each pushing and pulling a small
//     runtime, against one server and against two servers on one bucket
//     (printed; no target on a 2-core machine).
func init() {
	register(Benchmark{Name: "s3", Run: func(env *Env) error {
		if s3test.Binary() == "" {
			env.Printf("s3: skipped: versitygw not installed (%s)", s3test.Install)
			return nil
		}
		gw, stop, err := s3test.StartShared()
		if err != nil {
			return err
		}
		defer stop()
		os.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
		os.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
		cat, err := plugin.Load([]string{filepath.Join(env.Bin, plugin.FileName)})
		if err != nil {
			return err
		}
		b := &s3bench{env: env, gw: gw, cat: cat}
		defer b.close()
		for _, f := range []func() error{b.plugin, b.server, b.scaleOut} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}})
}

type s3bench struct {
	// rawPut and rawGet are the S3 service's own MB/s (SDK calls in
	// process), the ceiling of any server on it.
	rawPut, rawGet float64
	env            *Env
	gw             *s3test.Server
	cat            *plugin.Catalog
	hosts          []*plugin.Host
}

func (b *s3bench) close() {
	for _, h := range b.hosts {
		h.Close()
	}
}

// open opens a store URL through a new plugin host (its own plugin
// process).
func (b *s3bench) open(rawURL string) (store.Store, error) {
	h := plugin.NewHost(b.cat, hclog.NewNullLogger())
	b.hosts = append(b.hosts, h)
	return (&storeurl.Opener{Host: h}).Open(context.Background(), rawURL)
}

func (b *s3bench) bucketURL() (string, string, error) {
	name, err := b.gw.NewBucket()
	if err != nil {
		return "", "", err
	}
	return name, b.gw.URL(name, "bench"), nil
}

// data is n deterministic, incompressible bytes from seed.
func data(seed uint64, n int64) io.Reader {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

func (b *s3bench) plugin() error {
	ctx := context.Background()
	const n, size = 8, 16 << 20
	name, url, err := b.bucketURL()
	if err != nil {
		return err
	}
	viaPlugin, err := b.open(url)
	if err != nil {
		return err
	}
	direct, err := s3store.New(ctx, s3store.Config{Endpoint: b.gw.Endpoint, Bucket: name, Prefix: "direct",
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}, s3store.Options{})
	if err != nil {
		return err
	}
	// One round: n puts then n gets, timed.
	round := func(s store.Store) (put, get time.Duration, err error) {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := s.Put(ctx, fmt.Sprintf("v/%d", i), data(uint64(i), size), store.PutOptions{}); err != nil {
				return 0, 0, err
			}
		}
		put = time.Since(t0)
		t0 = time.Now()
		for i := 0; i < n; i++ {
			rc, err := s.Get(ctx, fmt.Sprintf("v/%d", i), 0, -1)
			if err != nil {
				return 0, 0, err
			}
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				return 0, 0, err
			}
		}
		return put, time.Since(t0), nil
	}
	// The two sides take turns, so that the load of a shared machine
	// weighs on both alike.
	var dpt, dgt, ppt, pgt []time.Duration
	for r := 0; r < b.env.Runs; r++ {
		p, g, err := round(direct)
		if err != nil {
			return err
		}
		dpt, dgt = append(dpt, p), append(dgt, g)
		if p, g, err = round(viaPlugin); err != nil {
			return err
		}
		ppt, pgt = append(ppt, p), append(pgt, g)
	}
	mb := float64(n*size) / 1e6
	dp, dg := mb/median(dpt).Seconds(), mb/median(dgt).Seconds()
	pp, pg := mb/median(ppt).Seconds(), mb/median(pgt).Seconds()
	b.rawPut, b.rawGet = dp, dg
	b.env.Printf("s3 plugin put: %.0f MB/s through the plugin, %.0f MB/s in process: %.2fx (target >= 0.8x)", pp, dp, pp/dp)
	b.env.Printf("s3 plugin get: %.0f MB/s through the plugin, %.0f MB/s in process: %.2fx (target >= 0.8x)", pg, dg, pg/dg)
	return nil
}

const benchToken = "swt_bench-s3-0123456789abcdef"

// serve runs a whole server over st; proxy serves every blob through it
// (--blob-redirect=false).
func serve(st store.Store, proxy bool) (*httptest.Server, error) {
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		return nil, err
	}
	srv, err := server.New(server.Config{Accounts: acc, Registry: registry.New(st), AdminToken: benchToken, Log: hclog.NewNullLogger(), ProxyBlobs: proxy})
	if err != nil {
		return nil, err
	}
	if err := srv.Bootstrap(context.Background()); err != nil {
		return nil, err
	}
	return httptest.NewServer(srv), nil
}

// ociClient pushes and pulls images over /v2 with net/http.
type ociClient struct{ base string }

func (c ociClient) do(method, url string, body io.Reader, size int64, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	req.SetBasicAuth("admin", benchToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return benchHTTP.Do(req)
}

// benchHTTP follows a server's blob redirects as swcli does: without the
// credentials, to the bucket's endpoint.
var benchHTTP = &http.Client{CheckRedirect: remote.DropCredentialsOnRedirect}

func expect(resp *http.Response, err error, status int) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %d %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// layer is a blob made by data(seed, size).
type layer struct {
	seed uint64
	size int64
	d    digest.Digest
}

func makeLayers(seed uint64, n int, size int64) ([]layer, error) {
	ls := make([]layer, n)
	for i := range ls {
		ls[i] = layer{seed: seed + uint64(i), size: size}
		dg, err := digest.SHA256.FromReader(data(ls[i].seed, size))
		if err != nil {
			return nil, err
		}
		ls[i].d = dg
	}
	return ls, nil
}

// push uploads the layers (par at a time: POST, then PUT with the bytes)
// and a manifest tagged tag.
func (c ociClient) push(repo, tag string, ls []layer, par int) error {
	if err := parallelDo(len(ls), par, func(i int) error {
		resp, err := c.do("POST", c.base+"/v2/"+repo+"/blobs/uploads/", nil, 0)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("start upload: %d", resp.StatusCode)
		}
		loc := resp.Header.Get("Location")
		resp, err = c.do("PUT", c.base+loc+"?digest="+ls[i].d.String(), data(ls[i].seed, ls[i].size), ls[i].size,
			"Content-Type", "application/octet-stream")
		return expect(resp, err, http.StatusCreated)
	}); err != nil {
		return err
	}
	cfg := []byte(`{"name":"` + tag + `"}`)
	cd := digest.FromBytes(cfg)
	resp, err := c.do("POST", c.base+"/v2/"+repo+"/blobs/uploads/?digest="+cd.String(), bytes.NewReader(cfg), int64(len(cfg)))
	if err := expect(resp, err, http.StatusCreated); err != nil {
		return err
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.starwhale.runtime.v1",
		Config:       ocispec.Descriptor{MediaType: "application/vnd.starwhale.runtime.config.v1+json", Digest: cd, Size: int64(len(cfg))}}
	for _, l := range ls {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: l.d, Size: l.size})
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	resp, err = c.do("PUT", c.base+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(mb), int64(len(mb)),
		"Content-Type", ocispec.MediaTypeImageManifest)
	return expect(resp, err, http.StatusCreated)
}

// pull reads the manifest tagged tag and every layer (par at a time),
// checking each digest.
func (c ociClient) pull(repo, tag string, par int) error {
	resp, err := c.do("GET", c.base+"/v2/"+repo+"/manifests/"+tag, nil, -1, "Accept", ocispec.MediaTypeImageManifest)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil {
		return err
	}
	return parallelDo(len(m.Layers), par, func(i int) error {
		resp, err := c.do("GET", c.base+"/v2/"+repo+"/blobs/"+m.Layers[i].Digest.String(), nil, -1)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		dg, err := digest.SHA256.FromReader(resp.Body)
		if err != nil {
			return err
		}
		if dg != m.Layers[i].Digest {
			return fmt.Errorf("pull %s: digest %s, want %s", repo, dg, m.Layers[i].Digest)
		}
		return nil
	})
}

// parallelDo runs fn(0..n-1), par at a time, and returns the first error.
func parallelDo(n, par int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, par)
	for i := 0; i < n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func (b *s3bench) server() error {
	mib := int64(600)
	if v := os.Getenv("SWCLI_BENCH_S3_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 12 {
			return fmt.Errorf("SWCLI_BENCH_S3_MIB=%q: want a number of MiB, at least 12", v)
		}
		mib = n
	}
	const nLayers, par = 12, 4
	ls, err := makeLayers(1000, nLayers, mib<<20/nLayers)
	if err != nil {
		return err
	}
	_, url, err := b.bucketURL()
	if err != nil {
		return err
	}
	s3st, err := b.open(url)
	if err != nil {
		return err
	}
	fsst, err := (&storeurl.Opener{}).Open(context.Background(), "file://"+filepath.Join(b.env.Tmp, "s3bench-fs"))
	if err != nil {
		return err
	}
	const repo = "self/runtime/big"
	// the filesystem, S3 as served by default (blob GETs redirected to
	// S3), and S3 with --blob-redirect=false (the same bucket)
	var clients []ociClient
	for i, st := range []store.Store{fsst, s3st, s3st} {
		hs, err := serve(st, i == 2)
		if err != nil {
			return err
		}
		defer hs.Close()
		clients = append(clients, ociClient{base: hs.URL})
	}
	// Pushes to the filesystem and to S3 that take turns, each run with
	// new bytes (only a first push sends every byte; the third server has
	// the second's bucket), then pulls that take turns, so that the load
	// of a shared machine weighs on all alike; medians are printed.
	var pushes [2][]time.Duration
	var pushCPU [2]string
	for r := 0; r < min(b.env.Runs, 3); r++ {
		if r > 0 {
			// new bytes: a blob stored already is not sent again
			if ls, err = makeLayers(uint64(1000+100*r), nLayers, mib<<20/nLayers); err != nil {
				return err
			}
		}
		for i, c := range clients[:2] {
			t0, c0 := time.Now(), cpuTicks()
			if err := c.push(repo, "latest-push", ls, par); err != nil {
				return err
			}
			pushes[i], pushCPU[i] = append(pushes[i], time.Since(t0)), cpuSince(c0)
		}
	}
	var pulls [3][]time.Duration
	var pullCPU [3]string
	for r := 0; r < min(b.env.Runs, 3); r++ {
		for i, c := range clients {
			c0 := cpuTicks()
			t0 := time.Now()
			if err := c.pull(repo, "latest-push", par); err != nil {
				return err
			}
			pulls[i] = append(pulls[i], time.Since(t0))
			pullCPU[i] = cpuSince(c0)
		}
	}
	fp, sp, fg, sg, pg := median(pushes[0]), median(pushes[1]), median(pulls[0]), median(pulls[1]), median(pulls[2])
	mb := float64(mib<<20) / 1e6
	b.env.Printf("s3 server push %d MiB: %.0f MB/s on S3, %.0f MB/s on the filesystem: %.2fx (target >= 0.7x)", mib, mb/sp.Seconds(), mb/fp.Seconds(), fp.Seconds()/sp.Seconds())
	b.env.Printf("s3 server pull %d MiB (blob GETs redirected to S3, the default): %.0f MB/s on S3, %.0f MB/s on the filesystem: %.2fx (target >= 0.7x)", mib, mb/sg.Seconds(), mb/fg.Seconds(), fg.Seconds()/sg.Seconds())
	b.env.Printf("s3 server pull %d MiB proxied (--blob-redirect=false): %.0f MB/s on S3, %.0f MB/s on the filesystem: %.2fx (printed)", mib, mb/pg.Seconds(), mb/fg.Seconds(), fg.Seconds()/pg.Seconds())
	if pushCPU[0] != "" {
		b.env.Printf("s3 server push %d MiB, CPU used (last run): on S3: %s; on the filesystem: %s (printed)", mib, pushCPU[1], pushCPU[0])
		b.env.Printf("s3 server pull %d MiB, CPU used (last run): redirected: %s; proxied: %s; on the filesystem: %s (printed)", mib, pullCPU[1], pullCPU[2], pullCPU[0])
	}
	b.env.Printf("s3 server on S3 against the S3 service's own speed (SDK in process, this run): push %.2fx of %.0f MB/s, pull %.2fx of %.0f MB/s",
		mb/sp.Seconds()/b.rawPut, b.rawPut, mb/sg.Seconds()/b.rawGet, b.rawGet)
	return nil
}

func (b *s3bench) scaleOut() error {
	const clients = 20
	shared, err := makeLayers(5000, 1, 2<<20)
	if err != nil {
		return err
	}
	run := func(servers int) (time.Duration, error) {
		_, url, err := b.bucketURL()
		if err != nil {
			return 0, err
		}
		var bases []string
		for i := 0; i < servers; i++ {
			st, err := b.open(url)
			if err != nil {
				return 0, err
			}
			hs, err := serve(st, false)
			if err != nil {
				return 0, err
			}
			defer hs.Close()
			bases = append(bases, hs.URL)
		}
		t0 := time.Now()
		err = parallelDo(clients, clients, func(i int) error {
			own, err := makeLayers(uint64(6000+100*i), 2, 1<<20)
			if err != nil {
				return err
			}
			repo := fmt.Sprintf("self/runtime/client%d", i)
			if err := (ociClient{base: bases[i%servers]}).push(repo, "latest-push", append(own, shared...), 3); err != nil {
				return err
			}
			return ociClient{base: bases[(i+1)%servers]}.pull(repo, "latest-push", 3)
		})
		return time.Since(t0), err
	}
	one, err := run(1)
	if err != nil {
		return err
	}
	two, err := run(2)
	if err != nil {
		return err
	}
	b.env.Printf("s3 scale-out, %d clients pushing and pulling 4 MiB each: one server %.2fs, two servers on one bucket %.2fs: %.2fx (printed; no target on a 2-core machine)",
		clients, one.Seconds(), two.Seconds(), one.Seconds()/two.Seconds())
	return nil
}
