package mlflow

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// MLflow's error codes (mlflow/protos/databricks.proto) that this server
// answers with.
const (
	codeInvalidParameter = "INVALID_PARAMETER_VALUE"
	codeBadRequest       = "BAD_REQUEST"
	codeAlreadyExists    = "RESOURCE_ALREADY_EXISTS"
	codeNotFound         = "RESOURCE_DOES_NOT_EXIST"
	codeEndpointNotFound = "ENDPOINT_NOT_FOUND"
	codePermission       = "PERMISSION_DENIED"
	codeConflict         = "RESOURCE_CONFLICT"
	codeInternal         = "INTERNAL_ERROR"
	codeUnavailable      = "TEMPORARILY_UNAVAILABLE"
	codeNotImplemented   = "NOT_IMPLEMENTED"
	codeTooLarge         = "RESOURCE_LIMIT_EXCEEDED" // an upload over the limit, answered 413
)

// apiError is an error in MLflow's form: a code the client switches on and
// a message for people.
type apiError struct {
	Code    string `json:"error_code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *apiError {
	return errorf(codeInvalidParameter, format, args...)
}

// status returns the HTTP status MLflow's server sends with code
// (mlflow/exceptions.py).
func status(code string) int {
	switch code {
	case codeInvalidParameter, codeBadRequest, codeAlreadyExists:
		return http.StatusBadRequest
	case codeNotFound, codeEndpointNotFound:
		return http.StatusNotFound
	case codePermission:
		return http.StatusForbidden
	case codeConflict:
		return http.StatusConflict
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case codeNotImplemented:
		return http.StatusNotImplemented
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// fail is the httpapi.ErrorWriter of the MLflow APIs: err in MLflow's
// form, with the status MLflow's server sends.
func fail(w http.ResponseWriter, _ *http.Request, err error) { writeError(w, err) }

// asAPIError maps any error to MLflow's form, in one place: the store's
// sentinels and the runlog limits become the codes the client acts on. A
// full disk and a busy store are TEMPORARILY_UNAVAILABLE, which the client
// retries with backoff.
func asAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return errorf(codeNotFound, "%v", err)
	case errors.Is(err, runfmt.ErrInvalid):
		return errorf(codeInvalidParameter, "%v", err)
	case errors.Is(err, store.ErrReadOnly):
		return errorf(codePermission, "%v", err)
	case errors.Is(err, errors.ErrUnsupported):
		return errorf(codeNotImplemented, "%v", err)
	case errors.Is(err, store.ErrFull), errors.Is(err, syscall.ENOSPC), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable):
		return errorf(codeUnavailable, "%v", err)
	}
	return errorf(codeInternal, "%v", err)
}
