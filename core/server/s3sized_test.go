package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestS3SizedPushChecksDigest: a monolithic push with a Content-Length
// streams into S3 as it arrives (store.PutSized: multipart parts past
// single_put_size), and still stores nothing when the bytes do not hash to
// the digest given (the last byte is kept back until the digest is
// checked, and the upload is aborted): no blob object, no multipart upload
// left. The right digest then stores the blob whole.
func TestS3SizedPushChecksDigest(t *testing.T) {
	b := newBucket(t)
	srv := b.start(t)
	content := bytes.Repeat([]byte("streamed layer "), 12<<20/15) // > 2 parts of 5 MiB
	d := digest.FromBytes(content)
	wrong := digest.FromString("something else")
	const repo = "/v2/self/runtime/sized/blobs/"

	resp, body := do(t, "POST", srv.URL+repo+"uploads/?digest="+wrong.String(), scaleToken, bytes.NewReader(content))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "DIGEST_INVALID")
	objects := func() []string {
		t.Helper()
		out, err := b.srv.Client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String("org/blobs/")})
		require.NoError(t, err)
		var keys []string
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		return keys
	}
	assert.Empty(t, objects(), "nothing stored for a wrong digest")
	mp, err := b.srv.Client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(b.name)})
	require.NoError(t, err)
	assert.Empty(t, mp.Uploads, "the multipart upload was aborted")

	resp, body = do(t, "POST", srv.URL+repo+"uploads/?digest="+d.String(), scaleToken, bytes.NewReader(content))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	assert.Equal(t, []string{"org/blobs/sha256/" + d.Encoded()}, objects())
	resp, got := do(t, "GET", srv.URL+repo+d.String(), scaleToken, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, d, digest.FromBytes(got))
}
