package server

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/mlflow/mlbackend"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
)

// MLflowTeam is where the MLflow API (internal/mlflow, its Backend) keeps
// what it stores on a team server, so that it writes there as on a home
// and any replica serves any request, keeping nothing on the replica's
// disk:
//
//   - the experiment registry and logged models' metadata are documents in
//     PostgreSQL, changed under their row's lock (postgres.DB's
//     UpdateMLflowDocument);
//   - a run's records are appended to its log streams in PostgreSQL
//     through AppendLog at the stream's size, with the check ingest makes
//     of a batch, as teamAnnotate appends: a run created through MLflow
//     is its run.log, any other run gets the attached run.mlflow.log. Of two
//     replicas appending at once, one wins and the other reads the stream
//     again and encodes after it. The run is then indexed through
//     teamIndex, the one path of ingest, which tells every replica;
//   - artifacts and media files go to the bucket through runFiles (the
//     path of PUT /api/v1/runs/{id}/files), under artifacts/ and media/,
//     sha256 verified. Without a bucket (no --files) an upload is refused
//     with a clear error, and a run has no artifacts to read.
//
// Options.TeamMounts receives one.
type MLflowTeam struct {
	s *Server
}

// newMLflowTeam returns the MLflow API's backend on the team server s.
func newMLflowTeam(s *Server) *MLflowTeam {
	return &MLflowTeam{s: s}
}

// mlflowDocuments is what the MLflow API keeps in PostgreSQL beside the
// logs (TeamStore has them): its experiment registry and logged models.
type mlflowDocuments interface {
	MLflowDocument(ctx context.Context, name string) ([]byte, error)
	MLflowDocuments(ctx context.Context, prefix string) (map[string][]byte, error)
	UpdateMLflowDocument(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) error
}

var (
	_ mlbackend.Backend = (*MLflowTeam)(nil)
)

// errNoFiles is returned by artifact uploads on a team server without a
// bucket.
var errNoFiles = fmt.Errorf("%w: this runlog team server keeps no files: start it with --files (or $RUNLOG_FILES) naming an S3 bucket to log artifacts", errors.ErrUnsupported)

// Document returns the document name, nil if none.
func (t *MLflowTeam) Document(ctx context.Context, name string) ([]byte, error) {
	return t.s.team.MLflowDocument(ctx, name)
}

// Documents returns the documents whose names start with prefix.
func (t *MLflowTeam) Documents(ctx context.Context, prefix string) (map[string][]byte, error) {
	return t.s.team.MLflowDocuments(ctx, prefix)
}

// UpdateDocument changes the document name under its row's lock.
func (t *MLflowTeam) UpdateDocument(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) error {
	return t.s.team.UpdateMLflowDocument(ctx, name, fn)
}

// CreateRun appends the new run's run.log to PostgreSQL at offset 0: of
// two runs given the same id, the second finds the stream there.
func (t *MLflowTeam) CreateRun(ctx context.Context, hd runfmt.Header, build func(*runfmt.Encoder) error, opts runfmt.AppendOptions) (mlbackend.Log, error) {
	enc := runfmt.NewEncoder(0, nil)
	if err := enc.Begin(hd); err != nil {
		return nil, err
	}
	if err := build(enc); err != nil {
		return nil, err
	}
	data := enc.Bytes()
	l := &teamLog{s: t.s, id: hd.ID, stream: layout.RunLogFile, primary: true, opts: opts}
	size, err := t.s.team.AppendLog(ctx, hd.ID, l.stream, 0, data, l.check)
	if errors.Is(err, postgres.ErrLogDiffers) || (err == nil && size != int64(len(data))) {
		return nil, fmt.Errorf("create run %s: %w", hd.ID, fs.ErrExist)
	}
	if err != nil {
		return nil, fmt.Errorf("create run %s: %w", hd.ID, err)
	}
	if opts.Reset != nil {
		opts.Reset()
	}
	if err := l.visit(data, 0); err != nil {
		return nil, err
	}
	l.end, l.lastSeq, l.keys, l.read = size, enc.Seq(), enc.Keys(), true
	return l, nil
}

// Log returns the log the MLflow API appends to for run id: its run.log
// if ours says the header is the API's, else its run.mlflow.log.
func (t *MLflowTeam) Log(ctx context.Context, id string, ours func(runfmt.Header) bool, opts runfmt.AppendOptions) (mlbackend.Log, error) {
	if layout.CheckID(id) != nil {
		return nil, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	sizes, err := t.s.team.LogSizes(ctx, id)
	if err != nil {
		return nil, err
	}
	if sizes[layout.RunLogFile] == 0 {
		return nil, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	r := t.s.team.OpenLog(ctx, id, layout.RunLogFile, 0)
	rec, err := runfmt.NewReader(bufio.NewReader(r), layout.RunLogFile).Next()
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("read run.log of run %s: %w", id, err)
	}
	var h runfmt.Header
	if rec.Type != runfmt.TypeHeader || rec.DecodeJSON(&h) != nil {
		h = runfmt.Header{}
	}
	l := &teamLog{s: t.s, id: id, stream: attachedLog, opts: opts}
	if ours(h) {
		l.stream, l.primary = layout.RunLogFile, true
	}
	return l, nil
}

// artifactName is the name of an artifact of a run in its files.
func artifactName(rel string) string { return path.Join(layout.ArtifactsDir, rel) }

// PutArtifact stores an artifact in the bucket. The bucket keeps a file by
// its sha256, which MLflow's client does not send: the body is spooled to
// a temporary file in the replica's scratch home, hashed on the way, then
// put through runFiles, which verifies it against that sha256 as it sends
// it; the temporary file is removed.
func (t *MLflowTeam) PutArtifact(ctx context.Context, run store.Run, rel string, body io.Reader, max int64) (int64, string, error) {
	if t.s.opts.Files == nil {
		return 0, "", errNoFiles
	}
	f, err := os.CreateTemp(t.s.home, ".mlflow-upload-")
	if err != nil {
		return 0, "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, max+1))
	if err != nil {
		return 0, "", err
	}
	if n > max {
		return 0, "", fmt.Errorf("%w: more than %d bytes", runfs.ErrTooLarge, max)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := t.put(ctx, run, artifactName(rel), f, n, sum); err != nil {
		return 0, "", err
	}
	return n, sum, nil
}

// put stores a file of run through runFiles, taking one of the server's
// upload slots.
func (t *MLflowTeam) put(ctx context.Context, run store.Run, name string, body io.Reader, size int64, sum string) error {
	select {
	case t.s.fileSlots <- struct{}{}:
		defer func() { <-t.s.fileSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := t.s.files.put(ctx, run, name, body, size, sum)
	return err
}

// OpenArtifact opens an artifact in the bucket, verified as it is read.
func (t *MLflowTeam) OpenArtifact(ctx context.Context, run store.Run, rel string) (io.ReadCloser, error) {
	if t.s.opts.Files == nil {
		return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, errNoFiles)
	}
	r, _, err := t.s.opts.Files.Open(ctx, run.ID, artifactName(rel))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return r, err
}

// ServeArtifact sends an artifact from the bucket through runFiles.
func (t *MLflowTeam) ServeArtifact(w http.ResponseWriter, r *http.Request, run store.Run, rel string) error {
	if t.s.opts.Files == nil {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, errNoFiles)
	}
	return t.s.files.serve(w, r, run, artifactName(rel), false)
}

// artifacts returns the entries of run's manifest under the folder rel of
// its artifacts, their paths relative to it; none without a bucket.
func (t *MLflowTeam) artifacts(ctx context.Context, run store.Run, rel string) ([]objstore.Entry, error) {
	if t.s.opts.Files == nil {
		return nil, nil
	}
	all, err := t.s.opts.Files.List(ctx, run.ID)
	if err != nil {
		return nil, fileStoreDown(err)
	}
	prefix := artifactName(rel) + "/"
	var out []objstore.Entry
	for _, e := range all {
		if p, ok := strings.CutPrefix(e.Path, prefix); ok {
			e.Path = p
			out = append(out, e)
		} else if e.Path == artifactName(rel) && rel != "" {
			e.Path = ""
			out = append(out, e)
		}
	}
	return out, nil
}

// StatArtifact describes a file or folder of run's artifacts in the bucket.
func (t *MLflowTeam) StatArtifact(ctx context.Context, run store.Run, rel string) (fs.FileInfo, error) {
	entries, err := t.artifacts(ctx, run, rel)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Path == "" {
			return fileInfo{name: path.Base(rel), size: e.Size}, nil
		}
	}
	if len(entries) == 0 {
		return nil, fs.ErrNotExist
	}
	return fileInfo{name: path.Base(cmp.Or(rel, layout.ArtifactsDir)), dir: true}, nil
}

// ReadArtifactDir lists a folder of run's artifacts in the bucket.
func (t *MLflowTeam) ReadArtifactDir(ctx context.Context, run store.Run, rel string) ([]fs.FileInfo, error) {
	entries, err := t.artifacts(ctx, run, rel)
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	for _, e := range entries {
		if e.Path == "" {
			continue
		}
		name, rest, sub := strings.Cut(e.Path, "/")
		if n := len(out); n > 0 && out[n-1].Name() == name {
			continue // a folder listed already: the manifest is sorted by path
		}
		if sub && rest != "" {
			out = append(out, fileInfo{name: name, dir: true})
		} else {
			out = append(out, fileInfo{name: name, size: e.Size})
		}
	}
	if len(out) == 0 {
		return nil, fs.ErrNotExist
	}
	slices.SortFunc(out, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// ArtifactsSize adds up the sizes of the files under a folder of run's
// artifacts in the bucket.
func (t *MLflowTeam) ArtifactsSize(ctx context.Context, run store.Run, rel string) (int64, error) {
	entries, err := t.artifacts(ctx, run, rel)
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 {
		return 0, fs.ErrNotExist
	}
	var size int64
	for _, e := range entries {
		size += e.Size
	}
	return size, nil
}

// WriteMedia stores a media file in the bucket under the path
// runfmt.MediaFiles gives it in a run folder.
func (t *MLflowTeam) WriteMedia(ctx context.Context, run store.Run, m *runfmt.Media, data []byte, ext string) error {
	if t.s.opts.Files == nil {
		return errNoFiles
	}
	sum := sha256.Sum256(data)
	m.SHA256, m.Size = hex.EncodeToString(sum[:]), int64(len(data))
	m.Path = runfmt.MediaPath(m.Key, m.Step, m.SHA256, ext)
	return t.put(ctx, run, m.Path, bytes.NewReader(data), m.Size, m.SHA256)
}

// fileInfo describes a file or folder of the bucket, which keeps no times
// or modes.
type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (f fileInfo) Name() string { return f.name }
func (f fileInfo) Size() int64  { return f.size }
func (f fileInfo) Mode() fs.FileMode {
	if f.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.dir }
func (f fileInfo) Sys() any           { return nil }
