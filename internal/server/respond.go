package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/store"
)

// writeJSON answers with v as JSON. Go's encoder escapes <, > and & inside
// strings, so a run named "<script>" can never become markup, whatever
// reads the answer.
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		data, _ = json.Marshal(errorBody{Error: "encode the answer: " + err.Error()})
	}
	writeRawJSON(w, code, data)
}

func writeRawJSON(w http.ResponseWriter, code int, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(data)
	w.Write([]byte{'\n'})
}

type errorBody struct {
	Error string `json:"error"`
}

// httpError is an error with the status it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// badRequest returns an error that answers 400 with a message.
func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// fail answers with the error's status: the one place where errors become
// HTTP statuses, the httpapi.ErrorWriter of every /api/v1 handler. Errors
// not meant for clients are logged and answered with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var conflict *conflictError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		writeJSON(w, he.code, errorBody{he.msg})
	case errors.As(err, &conflict):
		writeJSON(w, http.StatusConflict, struct {
			Size  int64  `json:"size"`
			Error string `json:"error"`
		}{conflict.size, err.Error()})
	case errors.As(err, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf("request body over the limit of %d bytes", mbe.Limit)})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{err.Error()})
	case errors.Is(err, store.ErrAmbiguous), errors.Is(err, analyze.ErrTarget):
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
	case errors.Is(err, store.ErrReadOnly):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{"the server's home is read-only"})
	case r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		s.opts.Logf("runlog: %s %s: %v", r.Method, r.URL.Path, err)
		writeJSON(w, http.StatusInternalServerError, errorBody{"internal error; the server's log says more"})
	}
}
