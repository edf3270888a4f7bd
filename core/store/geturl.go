package store

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// URLGetter is an optional Store capability: GetURL gives a short-lived
// URL, and the headers to send with it, from which an HTTP GET returns
// the bytes Get(key, offset, length) would (an S3 presigned GetObject with
// its Range), so that whoever holds the URL fetches the bytes straight
// from the service: the host instead of through a plugin, or a client the
// server redirects to it instead of through the server. The answer to
// that GET must be an S3 GetObject's: 200, or 206 for a range (a Range
// header the client adds to a whole-value URL is honoured), with ETag,
// Last-Modified and Content-Range or Content-Length; 404 with the error
// code NoSuchKey for a missing key. Making the URL may not contact the
// service (a missing key shows in the GET). A store that cannot give a
// URL for some key returns ErrNoURL. The URL is a credential until it
// expires (which should be soon, a minute or so): it is never logged, and
// no error may name it.
type URLGetter interface {
	GetURL(ctx context.Context, key string, offset, length int64) (url string, header http.Header, err error)
}

// ErrNoURL says a store gives no URL for a value: it has no URLGetter,
// or its plugin does not declare "url-get". The caller reads the bytes
// with Get instead.
var ErrNoURL = errors.New("store: this store gives no URLs")

// GetURL is s's URLGetter, or ErrNoURL when s has none (written once here,
// so wrappers keep the capability visible without knowing the store).
func GetURL(ctx context.Context, s Store, key string, offset, length int64) (string, http.Header, error) {
	g, ok := s.(URLGetter)
	if !ok {
		return "", nil, ErrNoURL
	}
	return g.GetURL(ctx, key, offset, length)
}

// RedirectURL is a URL of the whole value at key that any HTTP client can
// GET by itself, with no header but its own (a Range for a resumed
// download): one a server may send a client to. ErrNoURL when s gives no
// URL, or only one that needs headers the client would not send.
func RedirectURL(ctx context.Context, s Store, key string) (string, error) {
	u, h, err := GetURL(ctx, s, key, 0, -1)
	if err != nil {
		return "", err
	}
	for k := range h {
		if !strings.EqualFold(k, "Host") { // a client sends Host from the URL
			return "", ErrNoURL
		}
	}
	return u, nil
}
