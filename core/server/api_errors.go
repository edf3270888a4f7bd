package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// apiError is an answer a handler chose itself.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf(format, args...)}
}

// challenge is sent with every 401.
const challenge = `Bearer realm="swcli"`

// storeUnavailableMessage is what a client is told when the server's store
// (an S3 service, a store plugin) failed after its own retries: which store,
// that nothing was stored, and to try again. The details (bucket, endpoint,
// the driver's error) go to the server log only: they may name things a
// client must not see.
func storeUnavailableMessage(storeName string) string {
	return "the server's store (" + storeName + ") is unavailable; nothing was stored by this request; try again (details in the server log)"
}

// errorStatus maps an error to its HTTP status and code; ok is false for
// errors that are nobody's fault but the server's (logged, and answered
// without their detail). A store failure is the server's fault but not a
// bug: 503, so clients and load balancers retry.
func errorStatus(err error) (status int, code string, ok bool) {
	var (
		ae   *apiError
		mbe  *http.MaxBytesError
		nf   *registry.NotFoundError
		tnf  *registry.TagNotFoundError
		amb  *registry.AmbiguousError
		res  *registry.ReservedTagError
		inv  *registry.InvalidNameError
		te   *registry.TagExistsError
		nrem *registry.NotRemovedError
		de   *store.DriverError
	)
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code, true
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthorized", true
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden", true
	case errors.Is(err, ErrNoProject), errors.Is(err, ErrNotFound), errors.As(err, &nf), errors.As(err, &tnf):
		return http.StatusNotFound, "not_found", true
	case errors.Is(err, ErrInvalid), errors.As(err, &amb), errors.As(err, &res), errors.As(err, &inv):
		return http.StatusBadRequest, "invalid", true
	case errors.Is(err, ErrConflict), errors.As(err, &te), errors.As(err, &nrem):
		return http.StatusConflict, "conflict", true
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "too_large", true
	case errors.As(err, &de):
		return http.StatusServiceUnavailable, "unavailable", false
	}
	return http.StatusInternalServerError, "internal", false
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers {"error": {"code", "message"}}. Server faults are
// logged and answered without detail.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, ok := errorStatus(err)
	var body errorBody
	body.Error.Code, body.Error.Message = code, err.Error()
	if !ok {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		body.Error.Message = "internal error; see the server log"
		var de *store.DriverError
		if status == http.StatusServiceUnavailable && errors.As(err, &de) {
			body.Error.Message = storeUnavailableMessage(de.Store)
		}
	}
	if status == http.StatusRequestEntityTooLarge {
		body.Error.Message = fmt.Sprintf("request body larger than %d bytes", maxAPIBody)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeJSON(w, status, body)
}
