package s3store

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

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
	EnvConcurrency = "SW_S3_CONCURRENCY"
)

// S3's limits on multipart uploads.
const (
	MinPartSize     = 5 << 20
	maxPartSize     = 5 << 30
	maxParts        = 10000
	DefaultPartSize = 16 << 20
	// DefaultConcurrency is how many parts of one Put are uploaded at once.
	DefaultConcurrency = 4
	defaultRegion      = "us-east-1"
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
	// PartSize is the size of a multipart upload part and the size above
	// which Put uses a multipart upload; default DefaultPartSize, at least
	// MinPartSize. A Put holds up to Concurrency+1 parts in memory.
	PartSize int64
	// Concurrency is how many parts of one Put are uploaded at once; default
	// DefaultConcurrency.
	Concurrency int
}

// ConfigFromEnv reads the configuration from the environment variables named
// in the package documentation.
func ConfigFromEnv() (Config, error) {
	c := Config{
		Endpoint:        os.Getenv(EnvEndpoint),
		Bucket:          os.Getenv(EnvBucket),
		Prefix:          os.Getenv(EnvPrefix),
		Region:          os.Getenv(EnvRegion),
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
	}
	if v := os.Getenv(EnvPathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("s3 store: %s=%q: want true or false", EnvPathStyle, v)
		}
		c.PathStyle = &b
	}
	if v := os.Getenv(EnvPartSize); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return c, fmt.Errorf("s3 store: %s=%q: %v", EnvPartSize, v, err)
		}
		c.PartSize = n
	}
	if v := os.Getenv(EnvConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("s3 store: %s=%q: want a whole number of at least 1", EnvConcurrency, v)
		}
		c.Concurrency = n
	}
	return c, nil
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
		return fmt.Errorf("s3 store: no bucket: set %s", EnvBucket)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("s3 store: %s=%q: want a URL like http://127.0.0.1:7070 or https://s3.example.com", EnvEndpoint, c.Endpoint)
		}
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix != "" {
		if err := store.ValidateKey(c.Prefix); err != nil {
			return fmt.Errorf("s3 store: %s=%q: %v", EnvPrefix, c.Prefix, err.(*store.InvalidKeyError).Reason)
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
	switch {
	case c.PartSize == 0:
		c.PartSize = DefaultPartSize
	case c.PartSize < MinPartSize:
		return fmt.Errorf("s3 store: part size %d (%s) is below S3's minimum of 5 MiB", c.PartSize, EnvPartSize)
	case c.PartSize > maxPartSize:
		return fmt.Errorf("s3 store: part size %d (%s) is above S3's maximum of 5 GiB", c.PartSize, EnvPartSize)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	return nil
}

// ConfigSchema is the JSON schema of the plugin's configuration (served in
// Info.ConfigSchema). The configuration is read from environment variables;
// the schema names them.
const ConfigSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "s3store configuration (environment variables)",
  "type": "object",
  "required": ["SW_S3_BUCKET"],
  "properties": {
    "SW_S3_ENDPOINT": {"type": "string", "format": "uri", "description": "URL of an S3-compatible service, e.g. http://127.0.0.1:7070; empty for AWS S3"},
    "SW_S3_BUCKET": {"type": "string", "description": "bucket that holds the keys; it must exist"},
    "SW_S3_PREFIX": {"type": "string", "description": "prefix before every key, e.g. team/swcli; lets several stores share a bucket"},
    "SW_S3_REGION": {"type": "string", "description": "region of the bucket; default AWS_REGION or us-east-1"},
    "SW_S3_PATH_STYLE": {"type": "boolean", "description": "path-style addressing (ENDPOINT/BUCKET/KEY); default true when SW_S3_ENDPOINT is set"},
    "SW_S3_PART_SIZE": {"type": "string", "description": "multipart part size, e.g. 16MiB (default; at least 5MiB)"},
    "SW_S3_CONCURRENCY": {"type": "integer", "minimum": 1, "description": "parts of one put uploaded at once (default 4)"},
    "AWS_ACCESS_KEY_ID": {"type": "string", "description": "access key; when unset the AWS SDK's default credential chain is used"},
    "AWS_SECRET_ACCESS_KEY": {"type": "string", "description": "secret key"},
    "AWS_SESSION_TOKEN": {"type": "string", "description": "session token for temporary credentials"}
  }
}`
