package mlflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/mlflow/mlbackend"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
)

// homeBackend keeps what the handler stores in a home: documents as
// <home>/mlflow/<name>.json, each written whole through a temporary file
// and a rename under the lock file of its folder, which serializes the
// processes serving the same home; logs and artifacts in run folders.
type homeBackend struct {
	st   store.Store
	home string
	warn func(error)
}

var _ mlbackend.Backend = (*homeBackend)(nil)

func (b *homeBackend) docPath(name string) string {
	return filepath.Join(b.home, "mlflow", filepath.FromSlash(name)+".json")
}

func (b *homeBackend) Document(_ context.Context, name string) ([]byte, error) {
	raw, err := os.ReadFile(b.docPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return raw, nil
}

// Documents lists the documents of the folder prefix names ("models/").
func (b *homeBackend) Documents(ctx context.Context, prefix string) (map[string][]byte, error) {
	folder, start := path.Split(prefix)
	entries, err := os.ReadDir(filepath.Join(b.home, "mlflow", filepath.FromSlash(folder)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || !strings.HasPrefix(base, start) {
			continue
		}
		raw, err := b.Document(ctx, folder+base)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			out[folder+base] = raw
		}
	}
	return out, nil
}

func (b *homeBackend) UpdateDocument(_ context.Context, name string, fn func([]byte) ([]byte, error)) error {
	p := b.docPath(name)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	unlock, err := lockPath(filepath.Join(dir, "lock"))
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer unlock()
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	raw, err := fn(old)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, raw); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// CreateRun makes the run's folder and its run.log, synced, with the
// folder that holds it.
func (b *homeBackend) CreateRun(_ context.Context, hd runfmt.Header, build func(*runfmt.Encoder) error, opts runfmt.AppendOptions) (mlbackend.Log, error) {
	runs := filepath.Join(b.home, layout.RunsDir)
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	dir := layout.RunDir(b.home, hd.ID)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	p := filepath.Join(dir, layout.RunLogFile)
	err := func() error {
		log, err := runfmt.OpenAppend(p, runfmt.AppendOptions{Create: func() runfmt.Header { return hd }})
		if err != nil {
			return err
		}
		defer log.Close()
		if err := build(log.Encoder()); err != nil {
			return err
		}
		if err := log.Flush(); err != nil {
			return err
		}
		if err := log.Close(); err != nil {
			return err
		}
		if err := atomicfile.SyncDir(dir); err != nil {
			return err
		}
		return atomicfile.SyncDir(runs)
	}()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create run %s: %w", hd.ID, err)
	}
	return b.fileLog(dir, p, true, opts), nil
}

// Log finds the run's folder in the home, or else where the store says
// it is, and the file to write: the run.log this handler created, else an
// attached log.
func (b *homeBackend) Log(ctx context.Context, id string, ours func(runfmt.Header) bool, opts runfmt.AppendOptions) (mlbackend.Log, error) {
	dir := layout.RunDir(b.home, id)
	if layout.CheckID(id) != nil || fileMissing(filepath.Join(dir, layout.RunLogFile)) {
		r, err := b.st.Run(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.Path == "" {
			return nil, errorf(codeInternal, "run %s has no folder in this home", id)
		}
		dir = r.Path
	}
	h, err := readHeader(filepath.Join(dir, layout.RunLogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("run %s has no run.log", id)
	}
	if err != nil {
		return nil, err
	}
	if ours(h) {
		return b.fileLog(dir, filepath.Join(dir, layout.RunLogFile), true, opts), nil
	}
	return b.fileLog(dir, filepath.Join(dir, attachedLog), false, opts), nil
}

func (b *homeBackend) fileLog(dir, path string, primary bool, opts runfmt.AppendOptions) *fileLog {
	if primary {
		opts.Create = nil
	}
	return &fileLog{b: b, dir: dir, primary: primary, log: runfmt.NewAppender(path, opts)}
}

// readHeader reads the header of the run.log at path; a log that does not
// start with one has the zero header.
func readHeader(path string) (runfmt.Header, error) {
	var h runfmt.Header
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	rec, err := runfmt.NewReader(f, path).Next()
	if err != nil {
		return h, fmt.Errorf("read %s: %w", path, err)
	}
	if rec.Type != runfmt.TypeHeader || rec.DecodeJSON(&h) != nil {
		return runfmt.Header{}, nil
	}
	return h, nil
}

func fileMissing(path string) bool {
	_, err := os.Stat(path)
	return err != nil
}

// fileLog is a log in a run folder. Each append holds the file's lock
// (runfmt.Appender), and the log is read again if it grew behind the
// handler's back (another process serving the same home).
type fileLog struct {
	b       *homeBackend
	dir     string
	primary bool
	log     *runfmt.Appender
}

func (l *fileLog) Primary() bool { return l.primary }

func (l *fileLog) Append(_ context.Context, build func(*runfmt.Encoder) error) error {
	if err := l.log.Open(); err != nil {
		return err
	}
	defer l.log.Close() // drops what was not written
	if err := build(l.log.Encoder()); err != nil {
		return err
	}
	return l.log.Flush()
}

func (l *fileLog) Index(ctx context.Context) error {
	if _, err := ingest.Run(ctx, l.b.st, l.dir, ingest.Options{Warn: l.b.warn}); err != nil {
		return fmt.Errorf("written to %s, but not yet indexed: %w", l.log.Path(), err)
	}
	return nil
}

// runDir returns the folder of a run in the home.
func runDir(run store.Run) (string, error) {
	if run.Path == "" {
		return "", errorf(codeNotFound, "run %s has no folder in this home", run.ID)
	}
	return run.Path, nil
}

// openArtifacts opens the artifacts folder of a run: nil, and no error, if
// it is missing, unless create asks to create it. Every file is opened
// through it, rooted at the run's artifacts/ folder: a path or symbolic
// link that leads out of it is refused.
func openArtifacts(run store.Run, create bool) (*runfs.Dir, error) {
	p, err := runDir(run)
	if err != nil {
		return nil, err
	}
	d, err := runfs.Open(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if create {
		if err := d.MkdirAll(layout.ArtifactsDir); err != nil {
			return nil, err
		}
	}
	a, err := d.Sub(layout.ArtifactsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return a, err
}

// withArtifacts runs fn on the artifacts folder of run, which must exist.
func withArtifacts(run store.Run, fn func(*runfs.Dir) error) error {
	dir, err := openArtifacts(run, false)
	if err != nil {
		return err
	}
	if dir == nil {
		return fs.ErrNotExist
	}
	defer dir.Close()
	return fn(dir)
}

func (b *homeBackend) PutArtifact(_ context.Context, run store.Run, rel string, body io.Reader, max int64) (int64, string, error) {
	dir, err := openArtifacts(run, true)
	if err != nil {
		return 0, "", err
	}
	defer dir.Close()
	wr, err := dir.Create(rel, body, max)
	if err != nil {
		return 0, "", err
	}
	return wr.Size, wr.SHA256, nil
}

func (b *homeBackend) OpenArtifact(_ context.Context, run store.Run, rel string) (io.ReadCloser, error) {
	var f *os.File
	err := withArtifacts(run, func(d *runfs.Dir) error {
		var err error
		f, _, err = d.Open(rel)
		return err
	})
	return f, err
}

func (b *homeBackend) ServeArtifact(w http.ResponseWriter, r *http.Request, run store.Run, rel string) error {
	return withArtifacts(run, func(d *runfs.Dir) error { return d.Serve(w, r, rel, false) })
}

func (b *homeBackend) StatArtifact(_ context.Context, run store.Run, rel string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := withArtifacts(run, func(d *runfs.Dir) error {
		var err error
		fi, err = d.Stat(cmp.Or(rel, "."))
		return err
	})
	return fi, err
}

func (b *homeBackend) ReadArtifactDir(_ context.Context, run store.Run, rel string) ([]fs.FileInfo, error) {
	var out []fs.FileInfo
	err := withArtifacts(run, func(d *runfs.Dir) error {
		entries, err := d.ReadDir(cmp.Or(rel, "."))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") { // temporary files of uploads
				out = append(out, e)
			}
		}
		return err
	})
	return out, err
}

func (b *homeBackend) ArtifactsSize(_ context.Context, run store.Run, rel string) (int64, error) {
	p, err := runDir(run)
	if err != nil {
		return 0, err
	}
	var size int64
	err = filepath.WalkDir(filepath.Join(p, layout.ArtifactsDir, filepath.FromSlash(rel)), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fi, err := d.Info(); err == nil && !d.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	return size, err
}

func (b *homeBackend) WriteMedia(_ context.Context, run store.Run, m *runfmt.Media, data []byte, ext string) error {
	p, err := runDir(run)
	if err != nil {
		return err
	}
	return (&runfmt.MediaFiles{Dir: p}).Write(m, data, ext)
}
