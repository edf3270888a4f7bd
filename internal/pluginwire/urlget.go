package pluginwire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// URLGetter is the optional capability of a served store that lets the
// host fetch a Get's bytes from a short-lived URL itself (an S3 presigned
// GetObject), not through the plugin: through the plugin every byte is
// received and sent once more, which on a busy machine costs about as much
// CPU as the whole Get in process (measured here). The plugin declares it
// as "url-get"; the contract is store.URLGetter's. For an answer other
// than the bytes or NoSuchKey the host falls back to the plugin's Get, so
// a store need not presign what it cannot (it may also return an error,
// which is reported as Get's would be). The URL is a credential until it
// expires: it is never logged, and the host drops errors that name it.
type URLGetter = store.URLGetter

// GetURLFor serves URLGetter for a store that has it (and declares
// "url-get"); otherwise Unimplemented, as from an older plugin.
func (s *storeServer) GetURLFor(ctx context.Context, req *pb.GetRequest) (*pb.GetURL, error) {
	g, ok := s.s.(URLGetter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this store gives no URLs")
	}
	u, h, err := g.GetURL(ctx, req.Key, req.Offset, req.Length)
	if err != nil {
		return nil, storeStatus(err)
	}
	return &pb.GetURL{Url: u, Header: headerMap(h)}, nil
}

// urlClient fetches the URLs stores give. Keep-alive connections are
// shared by every store client of this host.
var urlClient = &http.Client{Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}()}

var _ store.URLGetter = (*StoreClient)(nil)

// GetURL implements store.URLGetter for a plugin that declares "url-get"
// (and a host that uses more than the gRPC streams); store.ErrNoURL
// otherwise, also from a plugin that answers Unimplemented.
func (c *StoreClient) GetURL(ctx context.Context, key string, offset, length int64) (string, http.Header, error) {
	if c.setup(ctx); !c.caps.URLGet || c.streamsOnly {
		return "", nil, store.ErrNoURL
	}
	u, err := c.c.GetURLFor(ctx, &pb.GetRequest{Key: key, Offset: offset, Length: length})
	if st, _ := status.FromError(err); err != nil && st.Code() == codes.Unimplemented {
		return "", nil, store.ErrNoURL
	}
	if err != nil {
		return "", nil, storeErr(err, key)
	}
	h := http.Header{}
	for k, v := range u.Header {
		h.Set(k, v)
	}
	return u.Url, h, nil
}

// urlGet fetches req's bytes from the URL the plugin gives. ok is false
// when the host should ask the plugin's Get instead (no URL, a transport
// error, an answer other than the bytes or NoSuchKey): then nothing was
// returned, and err is nil.
func (c *StoreClient) urlGet(ctx context.Context, req *pb.GetRequest) (rc io.ReadCloser, info *pb.StatResponse, ok bool, err error) {
	u, hdr, err := c.GetURL(ctx, req.Key, req.Offset, req.Length)
	if err != nil {
		var ik *store.InvalidKeyError
		switch {
		case errors.As(err, &ik):
			return nil, nil, true, err
		case ctx.Err() != nil:
			return nil, nil, true, ctx.Err()
		}
		return nil, nil, false, nil
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, false, nil
	}
	for k, v := range hdr {
		hreq.Header[k] = v
	}
	resp, err := urlClient.Do(hreq)
	if err != nil {
		// err names the URL (a credential): dropped; the plugin's Get
		// reports what is wrong
		if ctx.Err() != nil {
			return nil, nil, true, ctx.Err()
		}
		return nil, nil, false, nil
	}
	ranged := req.Offset > 0 || req.Length > 0
	switch {
	case resp.StatusCode == http.StatusPartialContent || (resp.StatusCode == http.StatusOK && !ranged):
		return resp.Body, infoFromHTTP(req.Key, resp), true, nil
	case resp.StatusCode == http.StatusNotFound:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if bytes.Contains(b, []byte("<Code>NoSuchKey</Code>")) {
			return nil, nil, true, &store.NotFoundError{Key: req.Key}
		}
	default:
		resp.Body.Close()
	}
	return nil, nil, false, nil
}

// infoFromHTTP is the Info of a GetObject answer: the whole value's size
// (the total of Content-Range for a range), ETag without quotes,
// Last-Modified.
func infoFromHTTP(key string, resp *http.Response) *pb.StatResponse {
	i := &pb.StatResponse{Key: key, Size: resp.ContentLength, Etag: strings.Trim(resp.Header.Get("ETag"), `"`)}
	if cr := resp.Header.Get("Content-Range"); cr != "" {
		if j := strings.LastIndexByte(cr, '/'); j >= 0 {
			if n, err := strconv.ParseInt(cr[j+1:], 10, 64); err == nil {
				i.Size = n
			}
		}
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		i.ModTimeUnixNano = t.UnixNano()
	}
	return i
}
