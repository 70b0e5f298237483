// Package mlbackend is the interface between runlog's MLflow API
// (internal/mlflow) and where it keeps what it stores: a home's files, which
// internal/mlflow implements, or a team server's PostgreSQL and bucket,
// which internal/server implements. It is a package of its own so that
// internal/server can implement it without importing internal/mlflow,
// whose tests serve the API through internal/server.
package mlbackend

import (
	"context"
	"io"
	"io/fs"
	"net/http"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// Backend is where the MLflow API keeps what it stores; it reads runs from
// the store it is given. A home's backend (mlflow.NewHandler's unless
// mlflow.Options.Backend says otherwise) keeps everything in the home's
// files: a run's logs and artifacts in its run folder, the experiments
// and logged models under <home>/mlflow/. A team server (internal/server) supplies
// one that keeps nothing on the replica's disk: documents and logs in
// PostgreSQL, files in its bucket, so that any replica serves any request.
//
// Errors that mean "no such thing" wrap fs.ErrNotExist or
// store.ErrNotFound; a write the backend cannot do at all (a team server
// with no bucket for files) wraps errors.ErrUnsupported.
type Backend interface {
	// Document returns the document name, JSON, or nil if there is none:
	// "experiments" (the experiment registry) or "models/<id>" (a logged
	// model).
	Document(ctx context.Context, name string) ([]byte, error)
	// Documents returns the documents whose names start with prefix, by
	// name.
	Documents(ctx context.Context, prefix string) (map[string][]byte, error)
	// UpdateDocument changes the document name: fn is given its content
	// (nil if none) and returns the new one, under a lock that every
	// process serving the same runs respects. If fn fails, nothing changes
	// and its error is returned as it is.
	UpdateDocument(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) error

	// CreateRun stores the run.log of a new run, hd.ID: its header hd and
	// the records build encodes, durable before it returns, and returns the
	// log, for more appends (opts as for Log). An id already taken is an
	// error wrapping fs.ErrExist, and nothing is written.
	CreateRun(ctx context.Context, hd runfmt.Header, build func(*runfmt.Encoder) error, opts runfmt.AppendOptions) (Log, error)
	// Log returns the log the MLflow API appends to for run id: the run's
	// run.log if ours says its header is the MLflow API's, else an attached
	// log (run.mlflow.log), which opts.Create starts. opts.Visit sees the
	// records the log holds whenever it is read from its start, after
	// opts.Reset. A run that does not exist is an error wrapping
	// store.ErrNotFound.
	Log(ctx context.Context, id string, ours func(runfmt.Header) bool, opts runfmt.AppendOptions) (Log, error)

	// PutArtifact stores body, at most max bytes, as the file rel of run's
	// artifacts, whole or not at all, and returns its size and sha256.
	PutArtifact(ctx context.Context, run store.Run, rel string, body io.Reader, max int64) (size int64, sum string, err error)
	// OpenArtifact opens the file rel of run's artifacts.
	OpenArtifact(ctx context.Context, run store.Run, rel string) (io.ReadCloser, error)
	// ServeArtifact sends the file rel of run's artifacts as runfs.Serve
	// sends a file to a browser; a missing one is an error, returned before
	// anything is written.
	ServeArtifact(w http.ResponseWriter, r *http.Request, run store.Run, rel string) error
	// StatArtifact describes rel, a file or folder of run's artifacts (""
	// is the artifacts folder).
	StatArtifact(ctx context.Context, run store.Run, rel string) (fs.FileInfo, error)
	// ReadArtifactDir lists the folder rel of run's artifacts, sorted by
	// name, leaving out temporary files of uploads in progress.
	ReadArtifactDir(ctx context.Context, run store.Run, rel string) ([]fs.FileInfo, error)
	// ArtifactsSize returns the total size of the files in the folder rel
	// of run's artifacts, and its subfolders.
	ArtifactsSize(ctx context.Context, run store.Run, rel string) (int64, error)
	// WriteMedia stores data as the media file of m (ext its ending)
	// unless the run holds it already, and fills in m's Path, Size and
	// SHA256, as runfmt.MediaFiles.Write does in a run folder.
	WriteMedia(ctx context.Context, run store.Run, m *runfmt.Media, data []byte, ext string) error
}

// Log is the log of one run that the MLflow API appends records to. It is
// used by one request at a time.
type Log interface {
	// Primary reports whether the log is the run's own run.log, which the
	// MLflow API created (else it is an attached log).
	Primary() bool
	// Append encodes records with build, numbered after the records the
	// log holds (which Visit has seen before build is called), and stores
	// them, durable before it returns; nothing is stored if build fails or
	// encodes nothing. Append may call build again when the log grew
	// meanwhile (another process appended): build encodes from scratch.
	Append(ctx context.Context, build func(*runfmt.Encoder) error) error
	// Index brings the store up to date with the run's logs.
	Index(ctx context.Context) error
}
