package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
)

func TestOCIModelRepository(t *testing.T) {
	ts := newTestServer(t)
	const repo = "self/model/app"
	cfg := pushBlob(t, ts, repo, []byte(`{"name":"app"}`))
	layer := pushBlob(t, ts, repo, []byte("layer"))
	resp, b := putManifest(t, ts, repo, "best", imageManifest(t, cfg, layer))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))

	v, err := ts.reg.Of(registry.KindModel).Resolve(context.Background(), "self", "app", "best")
	require.NoError(t, err, "P/model/NAME is model NAME of project P")
	assert.Equal(t, 0, v.Number)
	_, err = ts.reg.Resolve(context.Background(), "self", "app", "best")
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf, "not a runtime")
	resp, _ = do(t, "GET", ts.URL+"/v2/self/runtime/app/manifests/best", adminToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = do(t, "GET", ts.URL+"/v2/self/model/app/manifests/best", adminToken, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
