package main_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swcli/swcli/internal/s3test"
)

// TestStoreS3ListRequests: with SW_STORE on S3, the first command probes
// the store (about six requests); the commands after it, within the probe
// cache's TTL, send only what they need: `runtime list` of an empty bucket
// sends exactly what the first one sent minus the probe (counted by a
// proxy on 127.0.0.1 in front of versitygw).
func TestStoreS3ListRequests(t *testing.T) {
	srv := s3test.Start(t)
	p := s3test.NewProxy(t, srv)
	c := newCLI(t)
	c.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey,
		"SW_STORE="+p.URL(srv.Bucket(t), "team"))
	count := func() int64 {
		t.Helper()
		before := p.Requests.Load()
		c.ok("runtime", "list")
		return p.Requests.Load() - before
	}
	first, second, third := count(), count(), count()
	t.Logf("S3 requests of `swcli runtime list`: first %d, then %d and %d", first, second, third)
	assert.GreaterOrEqual(t, first-second, int64(5), "the first command probes, the next does not")
	assert.Equal(t, second, third, "every later list sends the same requests")
	assert.LessOrEqual(t, second, int64(3), "listing an empty store is a few List requests")
}
