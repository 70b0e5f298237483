package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/trash"
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
		writeJSON(w, http.StatusNotFound, errorBody{s.notIndexed(r, err)})
	case errors.Is(err, trash.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{err.Error()})
	case errors.Is(err, trash.ErrExists):
		writeJSON(w, http.StatusConflict, errorBody{err.Error()})
	case errors.Is(err, runfs.ErrOutside), errors.Is(err, runfs.ErrNotFile):
		// A file of a run folder that runfs refuses: a link that leads out,
		// a folder or a device where a file was asked for.
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
	case errors.Is(err, store.ErrAmbiguous), errors.Is(err, analyze.ErrTarget):
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
	case errors.Is(err, store.ErrUnavailable):
		// The team server's database is down or restarting: clients back
		// off and resend.
		s.opts.Logf("runlog: %s %s: %v", r.Method, r.URL.Path, err)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{"the team server's database cannot be reached or is restarting; try again shortly (clients resend by themselves)"})
	case errors.Is(err, store.ErrReadOnly):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{"the server's home is read-only"})
	case diskFull(err):
		s.opts.Logf("runlog: %s %s: %v", r.Method, r.URL.Path, err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{"the server's disk is full: " + fullReason(err) +
			"; free space on the server, and clients resend what was refused"})
	case r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		s.opts.Logf("runlog: %s %s: %v", r.Method, r.URL.Path, err)
		writeJSON(w, http.StatusInternalServerError, errorBody{"internal error; the server's log says more"})
	}
}

// diskFull reports whether err says that the disk, the user's quota or the
// store's size limit is full: a state of the server, answered 503, from
// which a client retries later.
func diskFull(err error) bool {
	return errors.Is(err, store.ErrFull) || noSpace(err)
}

// fullReason names what is full, without the server's paths: the
// innermost error, such as "no space left on device".
func fullReason(err error) string {
	if errors.Is(err, store.ErrFull) {
		return "the store cannot grow (" + store.ErrFull.Error() + ")"
	}
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	return err.Error()
}

// notIndexed returns the message of a 404: for a run whose folder is on
// disk but that the store lacks because indexing fails, it says so and
// why, instead of leaving the run invisible without a word.
func (s *Server) notIndexed(r *http.Request, err error) string {
	id := r.PathValue("id")
	s.mu.Lock()
	ierr := s.indexErr
	s.mu.Unlock()
	if id == "" || ierr == nil || layout.CheckID(id) != nil {
		return err.Error()
	}
	if _, serr := os.Stat(filepath.Join(layout.RunDir(s.home, id), layout.RunLogFile)); serr != nil {
		return err.Error()
	}
	if _, rerr := s.db.Run(r.Context(), id); !errors.Is(rerr, store.ErrNotFound) {
		return err.Error() // the run is indexed: something in it is missing
	}
	return fmt.Sprintf("run %s is on disk, but the server could not index it: %v", id, ierr)
}
