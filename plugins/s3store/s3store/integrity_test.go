package s3store

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

func TestLoopback(t *testing.T) {
	for ep, want := range map[string]bool{
		"http://127.0.0.1:7070": true, "http://127.1.2.3": true, "http://[::1]:9000": true, "http://localhost:9000": true,
		"https://127.0.0.1:7070": false, // TLS: the SDK's own choice
		"http://10.0.0.5:9000":   false, "http://s3.example.com": false, "": false, "::bad": false,
	} {
		assert.Equal(t, want, loopback(ep), ep)
	}
}

// TestIntegrityHeaders: to a loopback endpoint a PutObject goes unsigned
// and without a flexible checksum; to another plain-HTTP endpoint it keeps
// the signed SHA-256 of the payload (and still no CRC). The endpoints are
// a recorder on 127.0.0.1, named by address or by a name that resolves
// to it only through a custom dialer.
func TestIntegrityHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("ETag", `"x"`)
	}))
	defer rec.Close()
	for name, c := range map[string]struct {
		endpoint string
		unsigned bool
	}{
		"loopback": {rec.URL, true},
		"other":    {strings.Replace(rec.URL, "127.0.0.1", "s3.test", 1), false},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(context.Background(), Config{Endpoint: c.endpoint, Bucket: "b", Region: "us-east-1",
				AccessKeyID: "k", SecretAccessKey: "s", MaxAttempts: 1}, Options{})
			require.NoError(t, err)
			if !c.unsigned {
				// s3.test is this recorder
				s.client = withDialTo(s, rec.Listener.Addr().String())
			}
			got = nil
			require.NoError(t, s.Put(context.Background(), "k", strings.NewReader("value"), store.PutOptions{}))
			require.Len(t, got, 1)
			h := got[0]
			if c.unsigned {
				assert.Equal(t, "UNSIGNED-PAYLOAD", h.Get("X-Amz-Content-Sha256"))
			} else {
				assert.Len(t, h.Get("X-Amz-Content-Sha256"), 64, "the payload's sha256")
			}
			for k := range h {
				assert.NotContains(t, strings.ToLower(k), "x-amz-checksum-", "no flexible checksum: %s", k)
			}
			assert.Empty(t, h.Get("X-Amz-Sdk-Checksum-Algorithm"))
		})
	}
}

// withDialTo is s's client with every connection made to addr.
func withDialTo(s *Store, addr string) *s3.Client {
	o := s.client.Options()
	o.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}
	return s3.New(o)
}
