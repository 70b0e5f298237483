// Package ingest indexes run folders into the store. It reads only the
// bytes of each run.log that the store has not seen, and it is idempotent:
// the store keeps, with the data, the offset and sequence number reached,
// and applies a batch only if nobody else got there first.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// Options tune indexing.
type Options struct {
	// Warn receives problems that do not stop indexing: corrupt records
	// skipped, torn tails, records that cannot be applied.
	Warn func(error)
	// Progress is called after each run with the number of runs done and
	// the number to do.
	Progress func(done, total int)
	// Rebuild indexes every run from the start.
	Rebuild bool
	// Deep looks for new attached logs (run.<name>.log) in every run
	// folder, not only in those whose run.log changed.
	Deep bool
}

// Result counts what indexing did.
type Result struct {
	Runs    int   // run folders found
	Indexed int   // runs with new data
	Removed int   // runs whose folder is gone, removed from the store
	Records int64 // records applied
	Points  int64 // points applied
	// Changed lists the runs that got new data, in the order they were
	// indexed: what live views must refetch.
	Changed []string
}

// TornTail is the warning about bytes at the end of a run.log that do not
// form a complete record.
type TornTail struct {
	File   string
	Offset int64
	Length int64
}

func (t *TornTail) Error() string {
	return fmt.Sprintf("%s: offset %d: ignored %d bytes of an incomplete last record (the writer stopped mid-write)", t.File, t.Offset, t.Length)
}

// runFile is one log of a run folder as found on disk.
type runFile struct {
	id     string // the run
	stream string // the file's name: run.log or run.<name>.log
	path   string
	size   int64
	mod    int64
	// open, when set, reads the log from an offset on: a log that is not
	// a file of a run folder (Streams). Otherwise the file at path is read.
	open func(from int64) (io.ReadCloser, error)
}

// read returns the log's bytes from offset from on.
func (f runFile) read(from int64) (io.ReadCloser, error) {
	if f.open != nil {
		return f.open(from)
	}
	file, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	if _, err := file.Seek(from, io.SeekStart); err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

// folder returns the run folder the log is in, "" for a log kept
// elsewhere.
func (f runFile) folder() string {
	if f.open != nil {
		return ""
	}
	return filepath.Dir(f.path)
}

// Home indexes every run folder of home into st.
func Home(ctx context.Context, st store.Store, home string, opt Options) (Result, error) {
	var res Result
	// Listing the folders and reading the cursors overlap: with many runs,
	// both take a while.
	var cursors map[string]map[string]store.Cursor
	var cerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		cursors, cerr = st.Cursors(ctx)
	}()
	files, err := scan(filepath.Join(home, layout.RunsDir))
	<-done
	if err != nil {
		return res, err
	}
	if cerr != nil {
		return res, cerr
	}
	res.Runs = len(files)
	var todo [][]runFile
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.id] = true
		if logs := changed(f, cursors[f.id], opt); len(logs) > 0 {
			todo = append(todo, logs)
		}
	}
	for id := range cursors {
		if !present[id] {
			if err := st.DeleteRun(ctx, id); err != nil {
				return res, fmt.Errorf("remove run %s, whose folder is gone: %w", id, err)
			}
			res.Removed++
		}
	}
	for i, logs := range todo {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n, err := indexLogs(ctx, st, logs, opt)
		res.add(n)
		if n.Records > 0 {
			res.Changed = append(res.Changed, logs[0].id)
		}
		if err != nil {
			return res, err
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(todo))
		}
	}
	return res, nil
}

func (r *Result) add(o Result) {
	r.Records += o.Records
	r.Points += o.Points
	if o.Records > 0 {
		r.Indexed++
	}
}

// changed returns the logs of a run folder that hold data the store has
// not seen. primary is the folder's run.log. Attached logs (run.<name>.log)
// are looked for when run.log changed — their writers run while the run's
// own writer does, which keeps writing heartbeats — or when opt.Deep asks
// for it; logs the store knows are checked every time.
func changed(primary runFile, curs map[string]store.Cursor, opt Options) []runFile {
	stale := func(f runFile) bool {
		c, ok := curs[f.stream]
		return opt.Rebuild || !ok || c.Size != f.size || c.Mtime != f.mod
	}
	var logs []runFile
	primaryChanged := stale(primary)
	if primaryChanged {
		logs = append(logs, primary)
	}
	dir := filepath.Dir(primary.path)
	if primaryChanged || opt.Deep {
		for _, f := range attachedLogs(primary.id, dir) {
			if stale(f) {
				logs = append(logs, f)
			}
		}
		return logs
	}
	var names []string
	for name := range curs {
		if name != store.PrimaryStream {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if f, err := stat(primary.id, name, filepath.Join(dir, name)); err == nil && stale(f) {
			logs = append(logs, f)
		}
	}
	return logs
}

// attachedLogs lists the run.<name>.log files of a run folder, by name.
func attachedLogs(id, dir string) []runFile {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []runFile
	for _, e := range entries {
		name := e.Name()
		if name == layout.RunLogFile || !strings.HasPrefix(name, "run.") || !strings.HasSuffix(name, ".log") || e.IsDir() {
			continue
		}
		if f, err := stat(id, name, filepath.Join(dir, name)); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// indexLogs indexes logs of one run, in the order their processes ran
// (inTimeOrder).
func indexLogs(ctx context.Context, st store.Store, logs []runFile, opt Options) (Result, error) {
	var res Result
	if opt.Rebuild {
		if err := st.DeleteRun(ctx, logs[0].id); err != nil {
			return res, err
		}
	}
	err := inTimeOrder(logs, func(f runFile, stopAfter float64) (float64, error) {
		n, stopped, err := indexRun(ctx, st, f, opt, stopAfter)
		res.Records += n.Records
		res.Points += n.Points
		if err != nil {
			return 0, fmt.Errorf("index run %s (%s): %w", f.id, f.stream, err)
		}
		return stopped, nil
	})
	return res, err
}

// Run indexes the run folder dir (whose name is the run id) into st.
func Run(ctx context.Context, st store.Store, dir string, opt Options) (Result, error) {
	id := filepath.Base(dir)
	f, err := stat(id, layout.RunLogFile, filepath.Join(dir, layout.RunLogFile))
	if err != nil {
		return Result{}, err
	}
	var res Result
	n, err := indexLogs(ctx, st, append([]runFile{f}, attachedLogs(id, dir)...), opt)
	res.Runs = 1
	res.add(n)
	if n.Records > 0 {
		res.Changed = []string{id}
	}
	return res, err
}

// Stream is a log of a run that is kept elsewhere than in a run folder:
// the team server keeps the logs clients stream to it in PostgreSQL.
type Stream struct {
	Name string // run.log or run.<name>.log
	Size int64  // the bytes held, all of them whole records; it only grows
	// Open returns the log's bytes from offset from on.
	Open func(from int64) (io.ReadCloser, error)
}

// Streams indexes the logs of run id into st as Run indexes a run
// folder's: the same batches, the same order of the processes' logs, the
// same cursors, so that indexing is idempotent and two indexers of one run
// at once are safe (the store refuses the batch built on a stale cursor).
// The run's folder in the store is left empty.
func Streams(ctx context.Context, st store.Store, id string, logs []Stream, opt Options) (Result, error) {
	files := make([]runFile, 0, len(logs))
	for _, l := range logs {
		files = append(files, runFile{id: id, stream: l.Name, path: id + "/" + l.Name, size: l.Size, open: l.Open})
	}
	res := Result{Runs: 1}
	if len(files) == 0 {
		return res, nil
	}
	n, err := indexLogs(ctx, st, files, opt)
	res.add(n)
	if n.Records > 0 {
		res.Changed = []string{id}
	}
	return res, err
}

// scan lists the run folders under runs, with the size and modification
// time of their run.log, statting them in parallel.
func scan(runs string) ([]runFile, error) {
	entries, err := os.ReadDir(runs)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	files := make([]runFile, len(entries))
	ok := make([]bool, len(entries))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0)*2, 8)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				e := entries[i]
				if !e.IsDir() || e.Name()[0] == '.' {
					continue
				}
				f, err := stat(e.Name(), layout.RunLogFile, filepath.Join(runs, e.Name(), layout.RunLogFile))
				if err == nil {
					files[i], ok[i] = f, true
				}
			}
		}()
	}
	wg.Wait()
	out := files[:0]
	for i, f := range files {
		if ok[i] {
			out = append(out, f)
		}
	}
	return out, nil
}

func stat(id, stream, path string) (runFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return runFile{}, err
	}
	return runFile{id: id, stream: stream, path: path, size: fi.Size(), mod: fi.ModTime().UnixNano()}, nil
}

// maxBatchPoints and maxBatchKeys bound the points and the distinct keys of
// one batch, and so the memory indexing holds and the time the store's
// write lock is held: a run that logs a million distinct keys is indexed
// in batches of at most maxBatchKeys series.
const (
	maxBatchPoints = 1 << 20
	maxBatchKeys   = 1 << 15
)

// indexRun reads the new records of one run.log and writes them in
// batches. If another process indexes the same run at the same time, the
// store refuses the batch built on a stale cursor and this retries from
// where the other left off.
//
// It stops before a resume record later than stopAfter (+Inf: never) and
// returns that record's time, or +Inf when it read the log to its end.
func indexRun(ctx context.Context, st store.Store, f runFile, opt Options, stopAfter float64) (Result, float64, error) {
	var total Result
	for attempt := 0; ; attempt++ {
		stopped := stopAfter
		res, err := indexOnce(ctx, st, f, opt, &stopped)
		total.Records += res.Records
		total.Points += res.Points
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		return total, stopped, err
	}
}

// indexOnce reads the log f from the store's cursor and writes its
// records, up to a resume record later than *stop, whose time it then
// leaves in *stop (+Inf if it read to the end).
func indexOnce(ctx context.Context, st store.Store, f runFile, opt Options, stop *float64) (Result, error) {
	after := *stop
	*stop = math.Inf(1)
	var res Result
	cur, err := st.Cursor(ctx, f.id, f.stream)
	if err != nil {
		return res, err
	}
	if f.size < cur.Offset && f.open != nil {
		// A stream held elsewhere only grows: another indexer read further
		// than the size this one was given (two team replicas indexing one
		// run), which is not a log replaced by a shorter one.
		return res, nil
	}
	if f.size < cur.Offset { // the file was replaced by a shorter one
		if err := st.DeleteRun(ctx, f.id); err != nil {
			return res, err
		}
		cur = store.Cursor{}
	}
	keys := map[uint32]string{}
	if cur.Offset > 0 {
		if keys, err = st.KeyIDs(ctx, f.id, f.stream); err != nil {
			return res, err
		}
	}
	file, err := f.read(cur.Offset)
	if err != nil {
		return res, err
	}
	defer file.Close()
	// The state of a stream's writing process is replayed from the stream
	// only for a run that was resumed.
	resumed := func() bool {
		r, err := st.Run(ctx, f.id)
		return err == nil && r.Segments > 1
	}
	b := newBuilder(f, cur, keys, takeWatcher(f, cur, keys, resumed), opt.Warn)
	r := runfmt.NewReaderAt(file, f.path, cur.Offset)
	warned := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		for ; warned < len(r.Skipped()); warned++ {
			b.warn(r.Skipped()[warned])
		}
		if rec.Seq <= b.seq { // applied already
			continue
		}
		if t, ok := resumeAfter(rec, after); ok {
			// The logs of the processes before this resume go first.
			if err := b.flush(ctx, st, rec.Offset, false, &res); err != nil {
				return res, err
			}
			keepWatcher(f, b.watch, b.b.Prev)
			*stop = t
			return res, nil
		}
		cut, err := b.cutBefore(ctx, st, rec)
		if err != nil {
			return res, err
		}
		if cut || b.points >= maxBatchPoints || len(b.b.Points) >= maxBatchKeys || b.richBytes >= maxBatchRichBytes {
			if err := b.flush(ctx, st, rec.Offset, false, &res); err != nil {
				return res, err
			}
		}
		b.add(rec)
	}
	for ; warned < len(r.Skipped()); warned++ {
		b.warn(r.Skipped()[warned])
	}
	if t := r.Torn(); t > 0 && time.Since(time.Unix(0, f.mod)) > tornGrace {
		b.warn(&TornTail{File: f.path, Offset: r.Offset(), Length: t})
	}
	if err := b.flush(ctx, st, r.Offset(), true, &res); err != nil {
		return res, err
	}
	keepWatcher(f, b.watch, b.b.Prev)
	return res, nil
}

// tornGrace is how old a run.log must be before an incomplete last record
// is reported: younger, it is most likely still being written.
const tornGrace = 10 * time.Second
