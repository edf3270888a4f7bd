package s3store

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/swcli/swcli/core/store"
)

// S3 error codes the store maps to typed errors. The last three are
// versitygw's posix backend, which, like the filesystem store, cannot hold
// both a key and keys under it.
const (
	codeNoSuchKey           = "NoSuchKey"
	codeNotFound            = "NotFound" // HEAD has no body: only the status
	codeNoSuchBucket        = "NoSuchBucket"
	codePreconditionFailed  = "PreconditionFailed"
	codeConditionalConflict = "ConditionalRequestConflict"
	codeInvalidRange        = "InvalidRange"
	codeKeyTooLong          = "KeyTooLongError"
	codeIsDirectory         = "ExistingObjectIsDirectory"
	codeParentIsFile        = "ObjectParentIsFile"
	codeDirContainsData     = "DirectoryObjectContainsData"
	codeNoSuchUpload        = "NoSuchUpload"
)

// Error codes that mean the credentials are wrong or not allowed on the
// bucket (XAdminUserNotFound is versitygw's unknown access key).
var accessCodes = []string{"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
	"XAdminUserNotFound", "InvalidToken", "ExpiredToken", "InvalidClientTokenId"}

// errorCode returns the S3 error code of err ("" if it has none) and the
// HTTP status (0 if none).
func errorCode(err error) (string, int) {
	code, status := "", 0
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// mapError turns an S3 error about key into the store's typed errors:
// *store.NotFoundError, *store.PreconditionError, *store.InvalidKeyError, or
// a wrapped error that names the operation, the bucket and the key.
func (s *Store) mapError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	code, status := errorCode(err)
	switch {
	case code == codeNoSuchBucket:
		return fmt.Errorf("s3 store: %s %s: bucket %q does not exist at %s", op, key, s.cfg.Bucket, s.where())
	case slices.Contains(accessCodes, code) || (code == "" && status == http.StatusForbidden):
		return fmt.Errorf("s3 store: %s %s: access to bucket %q at %s denied (%s): check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and the bucket policy", op, key, s.cfg.Bucket, s.where(), codeOr(code, status))
	case code == codeNoSuchKey || code == codeNotFound || (code == "" && status == http.StatusNotFound):
		return &store.NotFoundError{Key: key}
	case code == codePreconditionFailed || status == http.StatusPreconditionFailed:
		return &store.PreconditionError{Key: key}
	case code == codeKeyTooLong:
		return &store.InvalidKeyError{Key: key, Reason: "too long for S3 (at most 1024 bytes with the prefix)"}
	case code == codeIsDirectory || code == codeParentIsFile || code == codeDirContainsData:
		return &store.InvalidKeyError{Key: key, Reason: "conflicts with another key: this S3 backend (a filesystem) cannot hold both a key and keys under it"}
	}
	return fmt.Errorf("s3 store: %s %s: %w", op, key, err)
}

func codeOr(code string, status int) string {
	if code != "" {
		return code
	}
	return fmt.Sprintf("HTTP %d", status)
}

func (s *Store) where() string {
	if s.cfg.Endpoint != "" {
		return s.cfg.Endpoint
	}
	return "AWS S3"
}
