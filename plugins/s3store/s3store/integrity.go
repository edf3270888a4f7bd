package s3store

import (
	"net"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// integrity sets how the bytes of a request and an answer are protected on
// the way, once, for the in-process store and the plugin alike.
//
//   - Flexible checksums only where S3 requires them
//     (RequestChecksumCalculation and ResponseChecksumValidation
//     "when_required"). Since early 2025 the SDK adds a CRC32 of every
//     PutObject and UploadPart by default and checks one on every
//     GetObject that has it, and the service computes and stores it too:
//     one more pass over every byte on both ends, which the store does not
//     need: a request body is covered by the signed SHA-256 of the payload
//     (plain HTTP) or by TLS, an answer by TLS or the loopback (below), and
//     every blob the registry stores is named by its own sha256 digest,
//     which its readers check.
//   - The payload SHA-256 of SigV4 is left out ("UNSIGNED-PAYLOAD") on a
//     loopback endpoint (127.0.0.0/8, ::1, localhost) as it already is on
//     TLS (the SDK's default for S3 over https): its only use is to stop a
//     body being changed on the network between the signer and the
//     service, and loopback bytes never leave this machine's kernel, where
//     anyone able to change them could read the credentials too. Other
//     plain-HTTP endpoints keep the signed payload: there it is the only
//     protection of the bytes.
func integrity(endpoint string, o *s3.Options) {
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	if loopback(endpoint) {
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}
}

// loopback says the endpoint URL names this machine by a loopback address.
func loopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}
