package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// ociError is one error of the OCI distribution spec: its code, the HTTP
// status it is sent with, and a message for people.
type ociError struct {
	Status  int
	Code    string
	Message string
	// Detail is sent as the error's detail (never credentials).
	Detail any
}

func (e *ociError) Error() string { return e.Code + ": " + e.Message }

func ociErr(status int, code, msg string) *ociError {
	return &ociError{Status: status, Code: code, Message: msg}
}

// writeOCIError sends err as the spec's JSON error body. Errors that are not
// *ociError are mapped from the registry's and Access's typed errors; the
// rest are 500s, logged.
func (h *ociHandler) writeOCIError(w http.ResponseWriter, r *http.Request, err error) {
	oe := h.toOCIError(err)
	var cbe *ClientBodyError
	switch {
	case oe.Status >= 500:
		h.log.Error("oci request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	case errors.As(err, &cbe):
		h.log.Info("client sent less than its request said (went away?)", "method", r.Method, "path", r.URL.Path, "error", cbe.Err)
	}
	if oe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="swcli"`)
	}
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{
		"code": oe.Code, "message": oe.Message, "detail": oe.Detail,
	}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(oe.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (h *ociHandler) toOCIError(err error) *ociError {
	var (
		oe  *ociError
		nf  *registry.NotFoundError
		bu  *registry.BlobUnknownError
		mb  *registry.MissingBlobsError
		dm  *registry.DigestMismatchError
		mi  *registry.ManifestInvalidError
		in  *registry.InvalidNameError
		rt  *registry.ReservedTagError
		tn  *registry.TagNotFoundError
		uu  *registry.UploadUnknownError
		mbe *http.MaxBytesError
		ur  *registry.UploadRangeError
		de  *store.DriverError
		cbe *ClientBodyError
	)
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, ErrUnauthenticated):
		return ociErr(http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	case errors.Is(err, ErrForbidden):
		return ociErr(http.StatusForbidden, "DENIED", "requested access to the resource is denied")
	case errors.Is(err, ErrNoProject):
		return ociErr(http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
	case errors.As(err, &nf):
		return ociErr(http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown: "+nf.Ref)
	case errors.As(err, &tn):
		return ociErr(http.StatusNotFound, "MANIFEST_UNKNOWN", "tag unknown: "+tn.Tag)
	case errors.As(err, &bu):
		return ociErr(http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry: "+bu.Digest.String())
	case errors.As(err, &uu):
		return ociErr(http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
	case errors.As(err, &mb):
		e := ociErr(http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", mb.Error())
		e.Detail = mb.Digests
		return e
	case errors.As(err, &dm):
		return ociErr(http.StatusBadRequest, "DIGEST_INVALID", dm.Error())
	case errors.As(err, &mi):
		return ociErr(http.StatusBadRequest, "MANIFEST_INVALID", mi.Error())
	case errors.As(err, &rt):
		return ociErr(http.StatusBadRequest, "TAG_INVALID", rt.Error())
	case errors.As(err, &in):
		switch in.Kind {
		case "digest":
			return ociErr(http.StatusBadRequest, "DIGEST_INVALID", in.Error())
		case "tag", "version":
			return ociErr(http.StatusBadRequest, "TAG_INVALID", in.Error())
		}
		return ociErr(http.StatusBadRequest, "NAME_INVALID", in.Error())
	case errors.As(err, &mbe):
		return ociErr(http.StatusRequestEntityTooLarge, "SIZE_INVALID", "request body larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	case errors.As(err, &cbe):
		return ociErr(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", cbe.Error())
	case errors.As(err, &ur):
		return ociErr(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", ur.Error())
	case errors.As(err, &de):
		// The store (an S3 service, a plugin) failed after its own
		// retries: the client may try again; the details (bucket,
		// endpoint) are in the server log only.
		return ociErr(http.StatusServiceUnavailable, "UNAVAILABLE", storeUnavailableMessage(de.Store))
	}
	return ociErr(http.StatusInternalServerError, "UNKNOWN", "internal error")
}
