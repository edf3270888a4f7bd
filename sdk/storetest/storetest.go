// Package storetest is the conformance suite for store.Store implementations,
// in the manner of distribution's storage driver testsuites and go-cloud's
// drivertest. Every store in this repository runs it from its tests, and a
// third-party store plugin runs it against its own implementation:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newMyStore(t) })
//	}
//
// newStore is called once per subtest and must return an empty store. The
// suite uses keys that a filesystem can hold (it never stores both "a" and
// "a/b"), and it does not expect List to fill Info.ETag (if it does, it must
// equal Stat's).
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// Run runs the conformance suite.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGet", testPutGet},
		{"PutGetLarge", testPutGetLarge},
		{"GetRange", testGetRange},
		{"Stat", testStat},
		{"NotFound", testNotFound},
		{"InvalidKeys", testInvalidKeys},
		{"List", testList},
		{"ListEmpty", testListEmpty},
		{"ListStop", testListStop},
		{"Delete", testDelete},
		{"IfNoneMatch", testIfNoneMatch},
		{"IfMatch", testIfMatch},
		{"RaceIfNoneMatch", testRaceIfNoneMatch},
		{"RaceIncrement", testRaceIncrement},
		{"FailedPutKeepsOld", testFailedPut},
		{"CanceledPut", testCanceledPut},
		{"GetDuringPut", testGetDuringPut},
		{"Compose", testCompose},
		{"PutSized", PutSized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func put(t *testing.T, s store.Store, key string, value []byte) {
	t.Helper()
	require.NoError(t, s.Put(context.Background(), key, bytes.NewReader(value), store.PutOptions{}), "put %s", key)
}

func get(t *testing.T, s store.Store, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key, offset, length)
	require.NoError(t, err, "get %s", key)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err, "read %s", key)
	return b
}

func list(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	keys := []string{}
	require.NoError(t, s.List(context.Background(), prefix, func(info store.Info) error {
		keys = append(keys, info.Key)
		return nil
	}), "list %q", prefix)
	return keys
}

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func testPutGet(t *testing.T, s store.Store) {
	put(t, s, "a/b/c", []byte("hello"))
	assert.Equal(t, "hello", string(get(t, s, "a/b/c", 0, -1)))

	put(t, s, "a/b/c", []byte("replaced"))
	assert.Equal(t, "replaced", string(get(t, s, "a/b/c", 0, -1)))

	put(t, s, "empty", nil)
	assert.Empty(t, get(t, s, "empty", 0, -1))
	info, err := s.Stat(context.Background(), "empty")
	require.NoError(t, err)
	assert.Equal(t, int64(0), info.Size)

	put(t, s, "Mixed.Case_key-1", []byte("x"))
	assert.Equal(t, "x", string(get(t, s, "Mixed.Case_key-1", 0, -1)))
}

func testPutGetLarge(t *testing.T, s store.Store) {
	value := randomBytes(20<<20, 1)
	put(t, s, "large", value)
	got := get(t, s, "large", 0, -1)
	require.Equal(t, len(value), len(got))
	assert.Equal(t, sha256.Sum256(value), sha256.Sum256(got))
	info, err := s.Stat(context.Background(), "large")
	require.NoError(t, err)
	assert.Equal(t, int64(len(value)), info.Size)
	assert.Equal(t, value[10<<20:10<<20+100], get(t, s, "large", 10<<20, 100))
}

// testCompose checks store.ComposeOf, which uses the store's
// store.Composer when it has one: values of several sizes (parts of 5 MiB
// and more, as an S3 multipart copy wants, and small ones anywhere) compose
// in order, the srcs stay, an existing dst is replaced, and a missing src
// fails naming it and leaves dst as it was.
func testCompose(t *testing.T, s store.Store) {
	ctx := context.Background()
	big1, big2, small := randomBytes(6<<20, 2), randomBytes(5<<20+1, 3), []byte("small")
	put(t, s, "src/big1", big1)
	put(t, s, "src/big2", big2)
	put(t, s, "src/small", small)
	put(t, s, "src/empty", nil)
	cat := func(vs ...[]byte) []byte { return bytes.Join(vs, nil) }
	for _, c := range []struct {
		name string
		srcs []string
		want []byte
	}{
		{"one", []string{"src/big1"}, big1},
		{"one small", []string{"src/small"}, small},
		{"large parts", []string{"src/big1", "src/big2", "src/small"}, cat(big1, big2, small)},
		{"small between", []string{"src/small", "src/big1", "src/small"}, cat(small, big1, small)},
		{"empty ones", []string{"src/empty", "src/big2", "src/empty"}, big2},
		{"none", nil, nil},
	} {
		require.NoError(t, store.ComposeOf(ctx, s, "out/v", c.srcs), c.name)
		got := get(t, s, "out/v", 0, -1)
		require.Equal(t, len(c.want), len(got), c.name)
		require.Equal(t, sha256.Sum256(c.want), sha256.Sum256(got), c.name)
		info, err := s.Stat(ctx, "out/v")
		require.NoError(t, err)
		require.Equal(t, int64(len(c.want)), info.Size, c.name)
	}
	assert.Equal(t, small, get(t, s, "src/small", 0, -1), "srcs stay")
	assert.Equal(t, sha256.Sum256(big1), sha256.Sum256(get(t, s, "src/big1", 0, -1)), "srcs stay")

	put(t, s, "out/v", []byte("old"))
	for _, srcs := range [][]string{{"src/missing"}, {"src/big1", "src/missing"}, {"src/small", "src/missing"}} {
		err := store.ComposeOf(ctx, s, "out/v", srcs)
		var nf *store.NotFoundError
		require.ErrorAs(t, err, &nf, "%v", srcs)
		assert.Equal(t, "src/missing", nf.Key, "%v", srcs)
		assert.Equal(t, "old", string(get(t, s, "out/v", 0, -1)), "dst unchanged after %v", srcs)
	}
}

func testGetRange(t *testing.T, s store.Store) {
	put(t, s, "r", []byte("0123456789"))
	for _, c := range []struct {
		offset, length int64
		want           string
	}{
		{0, -1, "0123456789"},
		{3, -1, "3456789"},
		{3, 4, "3456"},
		{0, 0, ""},
		{9, 1, "9"},
		{8, 10, "89"}, // length past the end: up to the end
		{10, -1, ""},  // offset at the end: empty
		{20, 5, ""},   // offset past the end: empty
		{0, 100, "0123456789"},
	} {
		assert.Equal(t, c.want, string(get(t, s, "r", c.offset, c.length)), "offset %d length %d", c.offset, c.length)
	}
}

func testStat(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "k", []byte("one"))
	a, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k", a.Key)
	assert.Equal(t, int64(3), a.Size)
	assert.NotEmpty(t, a.ETag)
	assert.False(t, a.ModTime.IsZero())

	again, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, a.ETag, again.ETag, "ETag is stable while the value is")

	put(t, s, "k", []byte("two")) // same size, other content
	b, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, int64(3), b.Size)
	assert.NotEqual(t, a.ETag, b.ETag, "ETag changes with the content")

	put(t, s, "k", []byte("three!"))
	c, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, int64(6), c.Size)
	assert.NotEqual(t, b.ETag, c.ETag)

	// Large values too (stores may use another ETag scheme for them).
	put(t, s, "big", randomBytes(3<<20, 2))
	d, err := s.Stat(ctx, "big")
	require.NoError(t, err)
	put(t, s, "big", randomBytes(3<<20, 3))
	e, err := s.Stat(ctx, "big")
	require.NoError(t, err)
	assert.Equal(t, int64(3<<20), e.Size)
	assert.NotEqual(t, d.ETag, e.ETag, "ETag of a large value changes with the content")

	// List may leave ETag empty; when it fills it, it is Stat's.
	require.NoError(t, s.List(ctx, "", func(info store.Info) error {
		st, err := s.Stat(ctx, info.Key)
		require.NoError(t, err)
		assert.Equal(t, st.Size, info.Size, info.Key)
		if info.ETag != "" {
			assert.Equal(t, st.ETag, info.ETag, info.Key)
		}
		return nil
	}))
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "present/x", []byte("x"))
	for _, key := range []string{"missing", "present/y", "present/x/deeper", "present"} {
		_, err := s.Get(ctx, key, 0, -1)
		var nf *store.NotFoundError
		require.ErrorAs(t, err, &nf, "Get %s", key)
		assert.Equal(t, key, nf.Key)

		_, err = s.Stat(ctx, key)
		require.ErrorAs(t, err, &nf, "Stat %s", key)
		assert.Equal(t, key, nf.Key)
	}
}

var invalidKeys = []string{
	"", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "../a", "a b", `a\b`,
	"a:b", "ä", "a\x00b", "a\nb", "a*", "~",
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, key := range invalidKeys {
		var ik *store.InvalidKeyError
		err := s.Put(ctx, key, bytes.NewReader([]byte("x")), store.PutOptions{})
		assert.ErrorAs(t, err, &ik, "Put %q", key)
		_, err = s.Get(ctx, key, 0, -1)
		assert.ErrorAs(t, err, &ik, "Get %q", key)
		_, err = s.Stat(ctx, key)
		assert.ErrorAs(t, err, &ik, "Stat %q", key)
		assert.ErrorAs(t, s.Delete(ctx, key), &ik, "Delete %q", key)
	}
	for _, prefix := range []string{"/a", "a//", "a//b", "../", "a/../", "a b", "ä"} {
		var ik *store.InvalidKeyError
		err := s.List(ctx, prefix, func(store.Info) error { return nil })
		assert.ErrorAs(t, err, &ik, "List %q", prefix)
	}
	assert.Empty(t, list(t, s, ""), "nothing was stored")
}

func testList(t *testing.T, s store.Store) {
	keys := []string{"b_y", "a/c/d", "a0", "ab/x", "b.c", "a-b", "a/b", "b/x", "B", "a/c.e"}
	for i, k := range keys {
		put(t, s, k, bytes.Repeat([]byte("x"), i))
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	assert.Equal(t, sorted, list(t, s, ""), "all keys in lexical order")

	for prefix, want := range map[string][]string{
		"a":     {"a-b", "a/b", "a/c.e", "a/c/d", "a0", "ab/x"},
		"a/":    {"a/b", "a/c.e", "a/c/d"},
		"a/c":   {"a/c.e", "a/c/d"},
		"a/c/":  {"a/c/d"},
		"a/c/d": {"a/c/d"},
		"a/c.":  {"a/c.e"},
		"ab":    {"ab/x"},
		"b":     {"b.c", "b/x", "b_y"},
		"b.":    {"b.c"},
		"B":     {"B"},
		"zz":    {},
		"zz/":   {},
		"a/b/":  {},
		"a/bb":  {},
	} {
		assert.Equal(t, want, list(t, s, prefix), "prefix %q", prefix)
	}

	sizes := map[string]int64{}
	require.NoError(t, s.List(context.Background(), "", func(info store.Info) error {
		sizes[info.Key] = info.Size
		assert.False(t, info.ModTime.IsZero(), info.Key)
		return nil
	}))
	for i, k := range keys {
		assert.Equal(t, int64(i), sizes[k], k)
	}
}

func testListEmpty(t *testing.T, s store.Store) {
	assert.Empty(t, list(t, s, ""))
	assert.Empty(t, list(t, s, "a"))
	assert.Empty(t, list(t, s, "a/b/"))
}

func testListStop(t *testing.T, s store.Store) {
	for _, k := range []string{"k1", "k2", "k3"} {
		put(t, s, k, []byte(k))
	}
	stop := errors.New("stop")
	var seen []string
	err := s.List(context.Background(), "", func(info store.Info) error {
		seen = append(seen, info.Key)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	assert.ErrorIs(t, err, stop, "List returns fn's error")
	assert.Equal(t, []string{"k1", "k2"}, seen)
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "d/e/f", []byte("1"))
	put(t, s, "d/g", []byte("2"))
	require.NoError(t, s.Delete(ctx, "d/e/f"))
	_, err := s.Stat(ctx, "d/e/f")
	var nf *store.NotFoundError
	assert.ErrorAs(t, err, &nf)
	assert.Equal(t, []string{"d/g"}, list(t, s, ""))

	require.NoError(t, s.Delete(ctx, "d/e/f"), "deleting again is not an error")
	require.NoError(t, s.Delete(ctx, "never/was"), "deleting a missing key is not an error")

	put(t, s, "d/e/h", []byte("3")) // the folder may have been pruned
	assert.Equal(t, "3", string(get(t, s, "d/e/h", 0, -1)))
	require.NoError(t, s.Delete(ctx, "d/e/h"))
	require.NoError(t, s.Delete(ctx, "d/g"))
	assert.Empty(t, list(t, s, ""))
}

func testIfNoneMatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "once", bytes.NewReader([]byte("first")), store.PutOptions{IfNoneMatch: true}))
	err := s.Put(ctx, "once", bytes.NewReader([]byte("second")), store.PutOptions{IfNoneMatch: true})
	var pe *store.PreconditionError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "once", pe.Key)
	assert.Equal(t, "first", string(get(t, s, "once", 0, -1)))
	assert.Equal(t, []string{"once"}, list(t, s, ""), "the losing put leaves nothing behind")
}

func testIfMatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	var pe *store.PreconditionError
	err := s.Put(ctx, "swap", bytes.NewReader([]byte("x")), store.PutOptions{IfMatch: "nope"})
	require.ErrorAs(t, err, &pe, "IfMatch on a missing key fails")

	put(t, s, "swap", []byte("v1"))
	v1, err := s.Stat(ctx, "swap")
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "swap", bytes.NewReader([]byte("v2")), store.PutOptions{IfMatch: v1.ETag}))
	assert.Equal(t, "v2", string(get(t, s, "swap", 0, -1)))

	err = s.Put(ctx, "swap", bytes.NewReader([]byte("v3")), store.PutOptions{IfMatch: v1.ETag})
	require.ErrorAs(t, err, &pe, "a stale ETag loses")
	assert.Equal(t, "v2", string(get(t, s, "swap", 0, -1)))

	v2, err := s.Stat(ctx, "swap")
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "swap", bytes.NewReader([]byte("v3")), store.PutOptions{IfMatch: v2.ETag}))
	assert.Equal(t, "v3", string(get(t, s, "swap", 0, -1)))
}

const racers = 16

func testRaceIfNoneMatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, racers)
	)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = s.Put(ctx, "race/key", bytes.NewReader([]byte(strconv.Itoa(i))), store.PutOptions{IfNoneMatch: true})
		}(i)
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, -1, winner, "two creators won: %d and %d", winner, i)
			winner = i
			continue
		}
		var pe *store.PreconditionError
		assert.ErrorAs(t, err, &pe, "racer %d", i)
	}
	require.NotEqual(t, -1, winner, "nobody won")
	assert.Equal(t, strconv.Itoa(winner), string(get(t, s, "race/key", 0, -1)))
}

// increment adds one to the number at key with a read-modify-write loop.
func increment(ctx context.Context, s store.Store, key string) error {
	for attempt := 0; attempt < 10000; attempt++ {
		info, err := s.Stat(ctx, key)
		var nf *store.NotFoundError
		if errors.As(err, &nf) {
			err = s.Put(ctx, key, bytes.NewReader([]byte("1")), store.PutOptions{IfNoneMatch: true})
		} else if err == nil {
			var rc io.ReadCloser
			rc, err = s.Get(ctx, key, 0, -1)
			if err != nil {
				return err
			}
			b, rerr := io.ReadAll(rc)
			rc.Close()
			if rerr != nil {
				return rerr
			}
			n, perr := strconv.Atoi(string(b))
			if perr != nil {
				return fmt.Errorf("counter holds %q: %w", b, perr)
			}
			err = s.Put(ctx, key, bytes.NewReader([]byte(strconv.Itoa(n+1))), store.PutOptions{IfMatch: info.ETag})
		}
		var pe *store.PreconditionError
		if errors.As(err, &pe) {
			continue
		}
		return err
	}
	return errors.New("increment: too many retries")
}

func testRaceIncrement(t *testing.T, s store.Store) {
	const each = 10
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, racers*each)
	)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := 0; j < each; j++ {
				errs <- increment(ctx, s, "counter")
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, strconv.Itoa(racers*each), string(get(t, s, "counter", 0, -1)), "no lost update")
}

// failingReader gives n bytes, then an error.
type failingReader struct{ n int }

var errReader = errors.New("reader broke")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errReader
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = 'z'
	}
	r.n -= len(p)
	return len(p), nil
}

func testFailedPut(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "keep", []byte("old"))
	for _, opts := range []store.PutOptions{{}, {IfMatch: "whatever"}} {
		err := s.Put(ctx, "keep", &failingReader{n: 100 << 10}, opts)
		require.Error(t, err)
		assert.Equal(t, "old", string(get(t, s, "keep", 0, -1)))
	}

	err := s.Put(ctx, "fresh", &failingReader{n: 5}, store.PutOptions{IfNoneMatch: true})
	require.Error(t, err)
	_, err = s.Stat(ctx, "fresh")
	var nf *store.NotFoundError
	assert.ErrorAs(t, err, &nf, "a failed put creates nothing")
	assert.Equal(t, []string{"keep"}, list(t, s, ""))
}

func testCanceledPut(t *testing.T, s store.Store) {
	put(t, s, "c", []byte("old"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Put(ctx, "c", bytes.NewReader([]byte("new")), store.PutOptions{})
	require.Error(t, err)
	assert.Equal(t, "old", string(get(t, s, "c", 0, -1)))
}

func testGetDuringPut(t *testing.T, s store.Store) {
	const size = 256 << 10
	ctx := context.Background()
	values := [][]byte{bytes.Repeat([]byte("a"), size), bytes.Repeat([]byte("b"), size)}
	put(t, s, "flip", values[0])

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := 1; i <= 30; i++ {
			if err := s.Put(ctx, "flip", bytes.NewReader(values[i%2]), store.PutOptions{}); err != nil {
				t.Errorf("put: %v", err)
				return
			}
		}
	}()
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				rc, err := s.Get(ctx, "flip", 0, -1)
				if err != nil {
					t.Errorf("get: %v", err)
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				if len(b) != size || (!bytes.Equal(b, values[0]) && !bytes.Equal(b, values[1])) {
					t.Errorf("read a mix of old and new: %d bytes", len(b))
					return
				}
			}
		}()
	}
	wg.Wait()
}
