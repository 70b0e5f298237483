// Package httpapi holds the one shape of runlog's HTTP API handlers, for
// the /api/v1 API and the MLflow API alike: a handler answers on success
// and returns its error otherwise, and each API turns returned errors into
// answers in one place, its ErrorWriter. A handler therefore never writes
// an error status itself.
package httpapi

import "net/http"

// Handler serves one endpoint. On success it writes the answer; on failure
// it returns the error having written nothing, and the API's ErrorWriter
// answers. A handler that has started its answer (a stream, a file) and
// then fails returns nil, or an error the ErrorWriter cannot answer any
// more but may log.
type Handler func(w http.ResponseWriter, r *http.Request) error

// ErrorWriter answers a request with err: the one place where an API maps
// errors to statuses and bodies.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Handle returns h as an http.Handler whose returned errors fail answers.
func Handle(h Handler, fail ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	})
}
