package tbimport

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/version"
)

// One runlog run per folder of event files: a folder that holds files whose
// names contain "tfevents" is a run, named by its path below the imported
// folder ("." takes the imported folder's name), so nested folders give
// names such as "sweep/lr-0.1"; a nested run's group is its parent path.
// Its event files are read in name order, which is the order they were
// written in.
//
// Re-importing is idempotent. A run's id is derived from the project, the
// name of its folder and the name of its first event file (which holds the
// time, host and pid of the writer), so the same events get the same run
// wherever the folder is imported from, and moving the folder changes
// nothing. The run folder keeps the import's cursor in tensorboard.json:
// for each event file the offset of the end of the last record imported,
// and run.log's size, sequence number and key ids after that import. An
// import reads each event file from its offset on, appends to run.log,
// syncs it, and then replaces tensorboard.json. An import killed between
// the two left a run.log longer than the cursor says: the next import cuts
// it back and reads those records again, so nothing is imported twice.

// CursorFile is the name of the cursor in an imported run's folder.
const CursorFile = "tensorboard.json"

// writerName marks the run.log files this package writes.
var writerName = "runlog-import-tensorboard/" + version.String()

// Options tune an import.
type Options struct {
	Project string // the project of the runs; "" means "default"
	// Warn receives problems that do not stop the import: corrupt and
	// truncated records, values runlog cannot keep.
	Warn func(error)
	// Progress is called as event files are read.
	Progress func(Progress)
}

// Progress says how far an import is.
type Progress struct {
	Bytes  int64 // bytes of event files read
	Total  int64 // bytes to read
	Points int64 // points imported
}

// Result says what an import did.
type Result struct {
	Runs   []Run
	Points int64 // points imported
	Bytes  int64 // bytes of event files read
}

// Run is one run folder of event files and its runlog run.
type Run struct {
	ID     string
	Name   string
	Source string // the folder of event files
	Dir    string // the runlog run folder
	New    bool   // the import created the run
	Points int64  // points this import added
	Values int64  // texts, images and histograms this import added
}

// runSource is a folder of event files found by a scan.
type runSource struct {
	name, group, dir string
	files            []string // names, sorted
	todo             int64    // bytes not yet imported
}

// Import imports the TensorBoard event files under dir (a folder, or one
// event file) into runs of home.
func Import(ctx context.Context, home, dir string, opt Options) (Result, error) {
	if opt.Project == "" {
		opt.Project = "default"
	}
	if err := runfmt.CheckName("project", opt.Project); err != nil {
		return Result{}, err
	}
	srcs, err := scan(dir)
	if err != nil {
		return Result{}, err
	}
	if len(srcs) == 0 {
		return Result{}, fmt.Errorf("no TensorBoard event files (files named *tfevents*) under %s", dir)
	}
	if err := os.MkdirAll(filepath.Join(home, layout.RunsDir), 0o755); err != nil {
		return Result{}, fmt.Errorf("create home: %w", err)
	}
	im := &importer{home: home, opt: opt}
	for i := range srcs {
		im.plan(&srcs[i])
	}
	var res Result
	for _, src := range srcs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		run, err := im.importRun(ctx, src)
		res.Runs = append(res.Runs, run)
		res.Points += run.Points
		if err != nil {
			return res, fmt.Errorf("import %s: %w", src.dir, err)
		}
	}
	res.Bytes = im.done
	return res, nil
}

// scan finds the folders of event files under dir.
func scan(dir string) ([]runSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() { // one event file
		return []runSource{{name: filepath.Base(filepath.Dir(abs)), dir: filepath.Dir(abs), files: []string{filepath.Base(abs)}}}, nil
	}
	byDir := map[string][]string{}
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), "tfevents") {
			byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], d.Name())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	var out []runSource
	for d, files := range byDir {
		rel, _ := filepath.Rel(abs, d)
		rel = filepath.ToSlash(rel)
		src := runSource{name: rel, dir: d, files: files}
		if rel == "." {
			src.name = filepath.Base(abs)
		} else if i := strings.LastIndexByte(rel, '/'); i > 0 {
			src.group = rel[:i]
		}
		slices.Sort(src.files)
		out = append(out, src)
	}
	slices.SortFunc(out, func(a, b runSource) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// runID derives the id of the run of a folder of event files.
func runID(project, folder, firstFile string) string {
	sum := sha256.Sum256([]byte(project + "\x00" + folder + "\x00" + firstFile))
	return "tb-" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:])[:12])
}

// cursor is the content of CursorFile.
type cursor struct {
	Format  int               `json:"format"`
	Source  string            `json:"source"`      // the folder of event files
	RunLog  int64             `json:"runlog_size"` // run.log's size after the import
	Seq     uint64            `json:"seq"`         // its last sequence number
	Keys    map[string]uint32 `json:"keys"`        // its key ids
	Plugins map[string]string `json:"plugins,omitempty"`
	Last    float64           `json:"last_time"` // the latest wall time imported
	Files   []fileCursor      `json:"files"`
}

type fileCursor struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"` // end of the last record imported
}

func (c *cursor) offset(name string) int64 {
	for _, f := range c.Files {
		if f.Name == name {
			return f.Offset
		}
	}
	return 0
}

func (c *cursor) setOffset(name string, off int64) {
	for i := range c.Files {
		if c.Files[i].Name == name {
			c.Files[i].Offset = off
			return
		}
	}
	c.Files = append(c.Files, fileCursor{name, off})
}

func readCursor(path string) (*cursor, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if c.Keys == nil {
		c.Keys = map[string]uint32{}
	}
	if c.Plugins == nil {
		c.Plugins = map[string]string{}
	}
	return &c, nil
}

// importer imports runs one after another.
type importer struct {
	home  string
	opt   Options
	total int64 // bytes to read, all runs
	done  int64 // bytes read
	pts   int64
}

func (im *importer) warn(err error) {
	if im.opt.Warn != nil {
		im.opt.Warn(err)
	}
}

// plan finds how much of a source is new.
func (im *importer) plan(src *runSource) {
	id := runID(im.opt.Project, filepath.Base(src.dir), src.files[0])
	cur, _ := readCursor(filepath.Join(layout.RunDir(im.home, id), CursorFile))
	for _, name := range src.files {
		fi, err := os.Stat(filepath.Join(src.dir, name))
		if err != nil {
			continue
		}
		off := int64(0)
		if cur != nil {
			off = cur.offset(name)
		}
		src.todo += max(fi.Size()-off, 0)
	}
	im.total += src.todo
}

func (im *importer) progress() {
	if im.opt.Progress != nil {
		im.opt.Progress(Progress{Bytes: im.done, Total: im.total, Points: im.pts})
	}
}

// importRun imports the new records of one folder of event files.
func (im *importer) importRun(ctx context.Context, src runSource) (Run, error) {
	id := runID(im.opt.Project, filepath.Base(src.dir), src.files[0])
	run := Run{ID: id, Name: src.name, Source: src.dir, Dir: layout.RunDir(im.home, id)}
	if src.todo == 0 {
		return run, nil
	}
	cur, err := readCursor(filepath.Join(run.Dir, CursorFile))
	if err != nil {
		return run, err
	}
	w, err := openLog(run.Dir, cur)
	if err != nil {
		return run, err
	}
	defer w.close()
	w.pointsBefore = im.pts
	if cur == nil {
		cur = &cursor{Format: 1, Keys: map[string]uint32{}, Plugins: map[string]string{}}
		run.New = true
	}
	cur.Source = src.dir
	w.plugins = cur.Plugins
	w.header = runfmt.Header{Format: 1, ID: id, Name: src.name, Project: im.opt.Project, Group: src.group,
		Tags: []string{"tensorboard"}, Host: hostOf(src.files[0]), Writer: writerName,
		Env: map[string]string{"tensorboard_dir": src.dir}}
	w.last = cur.Last
	for _, name := range src.files {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		off, err := im.importFile(w, filepath.Join(src.dir, name), cur.offset(name))
		if err != nil {
			return run, err
		}
		cur.setOffset(name, off)
	}
	w.flushWarnings(im.warn, src.dir)
	if w.points > 0 || w.values > 0 {
		// Event files say nothing of how a run ended; it is shown finished
		// at its last point rather than crashed.
		if err := w.json(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: w.last}); err != nil {
			return run, err
		}
	}
	if err := w.sync(); err != nil {
		return run, err
	}
	run.Points, run.Values = w.points, w.values
	if w.f == nil { // nothing was written: no run.log to point a cursor at
		return run, nil
	}
	cur.RunLog, cur.Seq, cur.Keys, cur.Plugins, cur.Last = w.size, w.enc.Seq(), w.enc.Keys(), w.plugins, w.last
	raw, err := json.MarshalIndent(cur, "", "  ")
	if err != nil {
		return run, err
	}
	if err := atomicfile.WriteFile(filepath.Join(run.Dir, CursorFile), append(raw, '\n')); err != nil {
		return run, fmt.Errorf("write import cursor: %w", err)
	}
	return run, nil
}

// importFile imports one event file from offset on and returns the offset
// to continue from.
func (im *importer) importFile(w *logWriter, path string, offset int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return offset, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return offset, err
	}
	if fi.Size() < offset {
		im.warn(fmt.Errorf("%s: the file is shorter (%d bytes) than what was imported of it (%d bytes); it was not read again", path, fi.Size(), offset))
		return offset, nil
	}
	if fi.Size() == offset {
		return offset, nil
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	// One goroutine reads and decodes, this one encodes and writes: each
	// is about half the work.
	r := NewReader(f, path, offset)
	batches, free := make(chan *batch, 2), make(chan *batch, 3)
	for range 3 {
		free <- &batch{}
	}
	var readErr error
	go func() {
		readErr = decodeFile(r, w.plugins, w.tagIndex, batches, free)
		close(batches)
	}()
	lastReport := offset
	var werr error
	for b := range batches {
		if werr == nil {
			werr = w.batch(b)
		}
		if b.end-lastReport >= 4<<20 || werr != nil {
			im.done += b.end - lastReport
			im.pts = w.pointsBefore + w.points
			lastReport = b.end
			im.progress()
		}
		free <- b
	}
	if werr != nil {
		return offset, werr
	}
	if readErr != nil {
		return offset, readErr
	}
	for _, c := range r.Skipped() {
		im.warn(&c)
	}
	if t := r.Truncated(); t != nil {
		im.warn(t)
	}
	im.done += r.Offset() - lastReport
	im.pts = w.pointsBefore + w.points
	im.progress()
	return r.Offset(), nil
}

// hostOf returns the host in an event file's name,
// events.out.tfevents.<time>.<host>[.<pid>.<n>…].
func hostOf(name string) string {
	_, rest, ok := strings.Cut(name, "tfevents.")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 {
		return ""
	}
	// The host may hold dots; after it come numbers (pid, counter) and
	// perhaps a suffix such as "v2".
	end := len(parts)
	for end > 2 && (isDigits(parts[end-1]) || len(parts[end-1]) > 1 && parts[end-1][0] == 'v' && isDigits(parts[end-1][1:])) {
		end--
	}
	return strings.Join(parts[1:end], ".")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
