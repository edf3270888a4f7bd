package s3store

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swcli/swcli/core/store"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvEndpoint    = "SW_S3_ENDPOINT"
	EnvBucket      = "SW_S3_BUCKET"
	EnvPrefix      = "SW_S3_PREFIX"
	EnvRegion      = "SW_S3_REGION"
	EnvPathStyle   = "SW_S3_PATH_STYLE"
	EnvPartSize    = "SW_S3_PART_SIZE"
	EnvSinglePut   = "SW_S3_SINGLE_PUT_SIZE"
	EnvConcurrency = "SW_S3_CONCURRENCY"
	EnvMaxAttempts = "SW_S3_MAX_ATTEMPTS"
	EnvMaxBackoff  = "SW_S3_MAX_BACKOFF"
	// EnvStoreURL is how the host hands a store plugin its store URL
	// (core/storeurl); when set it replaces the SW_S3_* variables.
	EnvStoreURL = "SW_STORE_URL"
)

// URLScheme is the scheme of the store URLs this store serves.
const URLScheme = "s3"

// S3's limits on multipart uploads.
const (
	MinPartSize     = 5 << 20
	maxPartSize     = 5 << 30
	maxParts        = 10000
	DefaultPartSize = 16 << 20
	// DefaultSinglePutSize is the largest value sent with one PutObject.
	// A multipart upload costs S3-compatible services dearly (versitygw,
	// Ceph RGW and MinIO store each part, then assemble them; on
	// versitygw a 64 MiB value is about 1.5x faster to put and 2x faster
	// to get after one PutObject than after a 4-part upload) and AWS bills
	// every part; 64 MiB covers most layers of a runtime.
	DefaultSinglePutSize = 64 << 20
	// DefaultConcurrency is how many parts of one Put are uploaded at once.
	DefaultConcurrency = 4
	defaultRegion      = "us-east-1"
	// DefaultMaxAttempts and DefaultMaxBackoff configure the SDK's standard
	// retryer: throttling (503 SlowDown), 5xx and dropped connections are
	// retried with exponential backoff and jitter up to this many attempts.
	DefaultMaxAttempts = 6
	DefaultMaxBackoff  = 5 * time.Second
)

// Config says where the store keeps its keys and how it talks to S3.
type Config struct {
	// Endpoint is the URL of an S3-compatible service (MinIO, versitygw,
	// Ceph RGW ...), e.g. "http://127.0.0.1:7070". Empty means AWS S3.
	Endpoint string
	// Bucket holds the keys. Required. The store never creates it.
	Bucket string
	// Prefix is put before every key ("team/swcli" stores key "a/b" as the
	// object "team/swcli/a/b"), so several stores can share a bucket.
	Prefix string
	// Region of the bucket; default: AWS_REGION, AWS_DEFAULT_REGION or the
	// shared AWS config, else us-east-1.
	Region string
	// PathStyle addresses the bucket as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY. Nil means: path style for a custom Endpoint,
	// virtual-hosted style for AWS.
	PathStyle *bool
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials. When AccessKeyID is empty the AWS SDK's default chain is
	// used (environment, shared files, and for AWS only, SSO and instance
	// roles).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PartSize is the size of a multipart upload part; default
	// DefaultPartSize, at least MinPartSize.
	PartSize int64
	// SinglePutSize is the largest value sent with one PutObject; a larger
	// value is a multipart upload whose first part is the SinglePutSize
	// bytes read so far. Default DefaultSinglePutSize, at least
	// MinPartSize. A Put holds up to SinglePutSize + Concurrency*PartSize
	// bytes in memory.
	SinglePutSize int64
	// Concurrency is how many parts of one Put are uploaded at once; default
	// DefaultConcurrency.
	Concurrency int
	// MaxAttempts and MaxBackoff configure the SDK's retryer (defaults
	// DefaultMaxAttempts, DefaultMaxBackoff).
	MaxAttempts int
	MaxBackoff  time.Duration

	// source names where the configuration came from in errors: the
	// variable or URL query key of each setting.
	source func(p param) string
}

// param is one setting, read from an environment variable or from a query
// key of the store URL. The table below is the one place that lists them:
// ConfigFromEnv, ConfigFromURL and ConfigSchema all read it.
type param struct {
	env, query, typ, desc string
	set                   func(c *Config, v string) error
}

var params = []param{
	{EnvEndpoint, "endpoint", "string", "URL of an S3-compatible service, e.g. http://127.0.0.1:7070; empty for AWS S3",
		func(c *Config, v string) error { c.Endpoint = v; return nil }},
	{EnvBucket, "", "string", "bucket that holds the keys; it must exist", // in the URL: the host
		func(c *Config, v string) error { c.Bucket = v; return nil }},
	{EnvPrefix, "", "string", "prefix before every key, e.g. team/swcli; lets several stores share a bucket", // in the URL: the path
		func(c *Config, v string) error { c.Prefix = v; return nil }},
	{EnvRegion, "region", "string", "region of the bucket; default AWS_REGION or us-east-1",
		func(c *Config, v string) error { c.Region = v; return nil }},
	{EnvPathStyle, "path_style", "boolean", "path-style addressing (ENDPOINT/BUCKET/KEY); default true when an endpoint is set",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			c.PathStyle = &b
			return nil
		}},
	{EnvPartSize, "part_size", "string", "multipart part size, e.g. 16MiB (default; at least 5MiB)",
		func(c *Config, v string) (err error) { c.PartSize, err = parseSize(v); return err }},
	{EnvSinglePut, "single_put_size", "string", "largest value sent with one PutObject, e.g. 64MiB (default; at least 5MiB); larger ones use a multipart upload",
		func(c *Config, v string) (err error) { c.SinglePutSize, err = parseSize(v); return err }},
	{EnvConcurrency, "concurrency", "integer", "parts of one put uploaded at once (default 4)",
		func(c *Config, v string) error { return positive(&c.Concurrency, v) }},
	{EnvMaxAttempts, "max_attempts", "integer", "attempts per S3 request, retries of throttling, 5xx and dropped connections included (default 6)",
		func(c *Config, v string) error { return positive(&c.MaxAttempts, v) }},
	{EnvMaxBackoff, "max_backoff", "string", "longest wait between retries, e.g. 5s (default)",
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a duration like 500ms or 5s")
			}
			c.MaxBackoff = d
			return nil
		}},
}

// positive reads a whole number of at least 1 into dst.
func positive(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("want a whole number of at least 1")
	}
	*dst = n
	return nil
}

// ConfigFromEnv reads the configuration from the environment variables named
// in the package documentation.
func ConfigFromEnv() (Config, error) {
	c := Config{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		source:          func(p param) string { return p.env },
	}
	for _, p := range params {
		if v := os.Getenv(p.env); v != "" {
			if err := p.set(&c, v); err != nil {
				return c, fmt.Errorf("s3 store: %s=%q: %v", p.env, v, err)
			}
		}
	}
	return c, nil
}

// QueryKeys are the query keys a store URL may carry, in order.
func QueryKeys() []string {
	var keys []string
	for _, p := range params {
		if p.query != "" {
			keys = append(keys, p.query)
		}
	}
	return keys
}

// ConfigFromURL reads s3://BUCKET[/PREFIX][?endpoint=URL&region=R&...]
// (see QueryKeys). Credentials never come from the URL: a URL with a user
// or password is refused; the AWS SDK's default chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, roles) gives them.
func ConfigFromURL(raw string) (Config, error) {
	c := Config{source: func(p param) string {
		switch {
		case p.query != "":
			return "store URL ?" + p.query
		case p.env == EnvBucket:
			return "store URL bucket"
		}
		return "store URL path (prefix)"
	}}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != URLScheme || u.Opaque != "" {
		return c, fmt.Errorf("s3 store: store URL: want s3://BUCKET[/PREFIX][?%s=...]", strings.Join(QueryKeys(), "=...&"))
	}
	if u.User != nil {
		return c, fmt.Errorf("s3 store: store URL s3://%s: credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE", u.Host)
	}
	c.Bucket, c.Prefix = u.Host, strings.Trim(u.Path, "/")
	q := u.Query()
	for k := range q {
		if !slices.Contains(QueryKeys(), k) {
			return c, fmt.Errorf("s3 store: store URL s3://%s: unknown query key %q; allowed: %s", u.Host, k, strings.Join(QueryKeys(), ", "))
		}
	}
	for _, p := range params {
		if p.query == "" || !q.Has(p.query) {
			continue
		}
		v := q.Get(p.query)
		if err := p.set(&c, v); err != nil {
			return c, fmt.Errorf("s3 store: store URL s3://%s: %s=%q: %v", u.Host, p.query, v, err)
		}
	}
	return c, nil
}

// name is how errors call the setting of p.
func (c *Config) name(p string) string {
	for _, q := range params {
		if q.env == p {
			if c.source != nil {
				return c.source(q)
			}
			return q.env
		}
	}
	return p
}

// parseSize reads "16777216", "16MiB", "16M", "512KiB", "1GiB".
func parseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a size in bytes, or with KiB, MiB or GiB")
	}
	return n * mult, nil
}

// check validates c and fills in defaults.
func (c *Config) check() error {
	if c.Bucket == "" {
		return fmt.Errorf("s3 store: no bucket: set %s", c.name(EnvBucket))
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("s3 store: %s=%q: want a URL like http://127.0.0.1:7070 or https://s3.example.com", c.name(EnvEndpoint), c.Endpoint)
		}
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix != "" {
		if err := store.ValidateKey(c.Prefix); err != nil {
			return fmt.Errorf("s3 store: %s=%q: %v", c.name(EnvPrefix), c.Prefix, err.(*store.InvalidKeyError).Reason)
		}
		c.Prefix += "/"
	}
	if c.AccessKeyID != "" && c.SecretAccessKey == "" {
		return fmt.Errorf("s3 store: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
	}
	if c.PathStyle == nil {
		b := c.Endpoint != ""
		c.PathStyle = &b
	}
	// Both sizes are part sizes (a value above SinglePutSize sends what
	// was read as its first part): within S3's part limits.
	for _, sz := range []struct {
		v    *int64
		def  int64
		what string
		env  string
	}{{&c.PartSize, DefaultPartSize, "part size", EnvPartSize}, {&c.SinglePutSize, DefaultSinglePutSize, "single put size", EnvSinglePut}} {
		switch {
		case *sz.v == 0:
			*sz.v = sz.def
		case *sz.v < MinPartSize:
			return fmt.Errorf("s3 store: %s %d (%s) is below S3's minimum part size of 5 MiB", sz.what, *sz.v, c.name(sz.env))
		case *sz.v > maxPartSize:
			return fmt.Errorf("s3 store: %s %d (%s) is above S3's maximum part size of 5 GiB", sz.what, *sz.v, c.name(sz.env))
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	return nil
}

// URLSchemaKey is the key of ConfigSchema under which a store plugin
// declares the store URLs it serves (core/storeurl reads it):
// {"scheme": "s3", "form": "...", "query": {"KEY": "description", ...}}.
const URLSchemaKey = "x-swcli-store-url"

// ConfigSchema is the JSON schema of the plugin's configuration (served in
// Info.ConfigSchema): the environment variables, and under URLSchemaKey the
// store URL's scheme and query keys. Both come from the params table.
var ConfigSchema = func() string {
	props := map[string]any{}
	query := map[string]string{}
	for _, p := range params {
		props[p.env] = map[string]string{"type": p.typ, "description": p.desc}
		if p.query != "" {
			query[p.query] = p.desc
		}
	}
	for k, d := range map[string]string{
		"AWS_ACCESS_KEY_ID":     "access key; when unset the AWS SDK's default credential chain is used",
		"AWS_SECRET_ACCESS_KEY": "secret key",
		"AWS_SESSION_TOKEN":     "session token for temporary credentials",
		"AWS_PROFILE":           "profile of the shared AWS config and credentials files",
	} {
		props[k] = map[string]string{"type": "string", "description": d}
	}
	b, err := json.MarshalIndent(map[string]any{
		"$schema":    "https://json-schema.org/draft/2020-12/schema",
		"title":      "s3store configuration: a store URL, or environment variables",
		"type":       "object",
		"required":   []string{EnvBucket},
		"properties": props,
		URLSchemaKey: map[string]any{
			"scheme":      URLScheme,
			"form":        "s3://BUCKET[/PREFIX][?" + strings.Join(QueryKeys(), "=...&") + "=...]",
			"query":       query,
			"credentials": "never in the URL: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the AWS SDK's default chain",
		},
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b)
}()
