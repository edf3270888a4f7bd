package console_test

import "crypto/tls"

// insecureTLS trusts httptest's self-signed certificate; tests only.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // test server on loopback
