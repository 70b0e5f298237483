package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
)

// runFiles is where the server reads and writes the files of runs that
// requests name (GET and PUT /api/v1/runs/{id}/files/{path}): the run
// folders of its home, through runfs, or on a team server the bucket,
// through objstore (Options.Files). Every handler that sends or receives
// a run's file goes through it, so that there is one path per mode.
type runFiles interface {
	// target returns the run that an upload names by its id: on a home,
	// its folder (which ingest made: the log goes first), indexed or not
	// yet; on a team server, the run in the store.
	target(ctx context.Context, s *Server, id string) (store.Run, error)
	// serve sends the file name of run to a browser as runfs.Serve does.
	// A missing file is an error wrapping fs.ErrNotExist, returned before
	// anything is written.
	serve(w http.ResponseWriter, r *http.Request, run store.Run, name string, attach bool) error
	// put stores size bytes of body, whose sha256 is sum, as the file
	// name of run, and returns once they are durable; nothing is kept
	// unless all of them arrived and match sum (objstore.ErrCorrupt).
	// deduplicated says the content was there already and body was not
	// read.
	put(ctx context.Context, run store.Run, name string, body io.Reader, size int64, sum string) (deduplicated bool, err error)
}

// folderFiles are the run folders of the home.
type folderFiles struct{}

func runFolder(run store.Run) (*runfs.Dir, error) {
	if run.Path == "" {
		return nil, &httpError{http.StatusNotFound, "run " + run.ID + " has no folder"}
	}
	return runfs.Open(run.Path)
}

func (folderFiles) target(_ context.Context, s *Server, id string) (store.Run, error) {
	if err := layout.CheckID(id); err != nil {
		return store.Run{}, badRequest("%v", err)
	}
	dir := layout.RunDir(s.home, id)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return store.Run{}, &httpError{http.StatusNotFound, "run " + id + " has no folder on this server: send its log first"}
	}
	return store.Run{ID: id, Path: dir}, nil
}

func (folderFiles) serve(w http.ResponseWriter, r *http.Request, run store.Run, name string, attach bool) error {
	dir, err := runFolder(run)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Serve(w, r, name, attach)
}

func (folderFiles) put(ctx context.Context, run store.Run, name string, body io.Reader, size int64, sum string) (bool, error) {
	dir, err := runFolder(run)
	if err != nil {
		return false, err
	}
	defer dir.Close()
	if f, fi, err := dir.Open(name); err == nil {
		same := false
		if fi.Size() == size {
			_, err := io.Copy(io.Discard, objstore.VerifyReader(f, objstore.Entry{Path: name, Size: size, SHA256: sum}))
			same = err == nil
		}
		f.Close()
		if same {
			return true, nil // the run folder holds it already (the client's own, or an earlier upload)
		}
	}
	_, err = dir.Create(name, objstore.VerifyReader(body, objstore.Entry{Path: name, Size: size, SHA256: sum}), 0)
	return false, err
}

// bucketFiles are the files of runs in object storage, by run id.
type bucketFiles struct{ st *objstore.S3 }

func (bucketFiles) target(ctx context.Context, s *Server, id string) (store.Run, error) {
	run, err := s.resolve(ctx, id)
	if err == nil && run.ID != id {
		err = &httpError{http.StatusNotFound, "no run has the id " + id + " (uploads name a run by its whole id)"}
	}
	return run, err
}

func (b bucketFiles) serve(w http.ResponseWriter, r *http.Request, run store.Run, name string, attach bool) error {
	body, e, err := b.st.Open(r.Context(), run.ID, name)
	if errors.Is(err, objstore.ErrNotFound) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	if err != nil {
		return fileStoreDown(err)
	}
	defer body.Close()
	runfs.ServeObject(w, r, name, attach, e.Size, `"`+e.SHA256+`"`, body)
	return nil
}

func (b bucketFiles) put(ctx context.Context, run store.Run, name string, body io.Reader, size int64, sum string) (bool, error) {
	_, dedup, err := b.st.PutReader(ctx, run.ID, name, body, size, sum)
	if err != nil && !errors.Is(err, objstore.ErrCorrupt) && ctx.Err() == nil {
		err = fileStoreDown(err)
	}
	return dedup, err
}

// fileStoreDown answers 503: the bucket did not answer (objstore has
// retried it already); the client sends the file again later.
func fileStoreDown(err error) error {
	return &httpError{http.StatusServiceUnavailable, "the file store is unavailable; send the file again later: " + err.Error()}
}

// bodyStart is a request body that says whether it was read at all.
type bodyStart struct {
	io.ReadCloser
	started bool
}

func (b *bodyStart) Read(p []byte) (int, error) {
	b.started = true
	return b.ReadCloser.Read(p)
}

// maxUploads is how many file uploads are received at once; more wait. A
// bucket upload holds up to Parallel+1 parts in memory.
const maxUploads = 4

// maxFileSize is the largest file accepted: S3's limit of one object.
const maxFileSize = 5 << 40

// fileBodyLimit raises the body limit of file uploads (PUT
// /api/v1/runs/{id}/files/{path}) to maxFileSize; put streams them.
type fileBodyLimit struct{}

func (fileBodyLimit) BodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/files/") {
		return maxFileSize
	}
	return 0
}

// SHA256Header carries the sha256 of an uploaded file, in lower-case hex.
const SHA256Header = "X-Runlog-Sha256"

// putFile stores a file of a run (PUT /api/v1/runs/{id}/files/{path}):
// an artifact, checkpoint or media file a client uploads, under
// artifacts/, checkpoints/ or media/. The body is the file, its length
// in Content-Length and its sha256 in X-Runlog-Sha256; the file is kept
// only whole and matching. Content the server holds already is not read:
// a client that sends Expect: 100-continue then sends nothing.
func (s *Server) putFile(w http.ResponseWriter, r *http.Request) error {
	// An answer given before the body was read at all (the content is
	// here already, or the request is refused) closes the connection: a
	// client that sent Expect: 100-continue then sends nothing, and the
	// server does not wait for a body it was never going to read. A body
	// read in part is left to net/http, which drains it before answering.
	body := &bodyStart{ReadCloser: r.Body}
	r.Body = body
	defer func() {
		if !body.started {
			w.Header().Set("Connection", "close")
		}
	}()
	run, err := s.files.target(r.Context(), s, r.PathValue("id"))
	if err != nil {
		return err
	}
	name := r.PathValue("path")
	if err := checkRelPath(name); err != nil {
		return err
	}
	if !remote.Uploadable(name) {
		return badRequest("file path %q: uploads go under %s", name, strings.Join(remote.UploadFolders, ", "))
	}
	if r.ContentLength < 0 {
		return &httpError{http.StatusLengthRequired, "send the file's length in Content-Length"}
	}
	sum := r.Header.Get(SHA256Header)
	if !objstore.ValidSHA256(sum) {
		return badRequest("send the file's sha256 in %s, as 64 lower-case hex digits", SHA256Header)
	}
	select {
	case s.fileSlots <- struct{}{}:
		defer func() { <-s.fileSlots }()
	case <-r.Context().Done():
		return r.Context().Err()
	}
	dedup, err := s.files.put(r.Context(), run, name, r.Body, r.ContentLength, sum)
	if errors.Is(err, objstore.ErrCorrupt) {
		return badRequest("%s: the body is not the file its length and sha256 describe: %v", name, err)
	}
	if err != nil {
		return err
	}
	if !body.started {
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, http.StatusOK, struct {
		Path         string `json:"path"`
		Size         int64  `json:"size"`
		SHA256       string `json:"sha256"`
		Deduplicated bool   `json:"deduplicated"`
	}{name, r.ContentLength, sum, dedup})
	return nil
}
