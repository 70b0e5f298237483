package mlflow

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/version"
)

// attachedLog is the log this handler writes in the folder of a run that
// another writer created; runfmt calls it an attached log.
const attachedLog = "run.mlflow.log"

// writerName marks the run.log files this handler writes; a run whose
// run.log it did not write gets an attached log instead.
var writerName = "runlog-mlflow/" + version.String()

// logWriter appends records to the log this handler keeps for one run.
// Requests that change the run hold mu from reading the run's state to the
// end of indexing, so that the run's changes are written and indexed one
// at a time. Each append also holds an exclusive flock(2) on the file, and
// the log is read again if it grew behind the handler's back (another
// process serving the same home).
type logWriter struct {
	mu      sync.Mutex
	dropped bool // evicted from writers: look the run up again
	id      string
	dir     string
	path    string // the file written: run.log or run.mlflow.log
	primary bool   // path is the run's own run.log, which this handler created
	loaded  bool
	seq     uint64 // last sequence number in the file
	end     int64  // end of the last good record
	keys    map[string]uint32
	nextKey uint32
	seen    seenSet
	used    time.Time
}

// records are records being encoded for one append. They take sequence
// numbers and key ids after the log's, which the log adopts only once the
// records are on disk.
type records struct {
	w       *logWriter
	buf     []byte
	seq     uint64
	newKeys map[string]uint32
	seen    map[uint64]struct{}
	err     error
}

func (rs *records) next() uint64 { rs.seq++; return rs.seq }

// json appends a record with a JSON payload.
func (rs *records) json(t runfmt.Type, v any) {
	if rs.err != nil {
		return
	}
	rs.buf, rs.err = runfmt.AppendJSON(rs.buf, t, rs.next(), v)
}

// key returns the id of key, appending a key record if it is new.
func (rs *records) key(name string) uint32 {
	if id, ok := rs.w.keys[name]; ok {
		return id
	}
	if id, ok := rs.newKeys[name]; ok {
		return id
	}
	if rs.newKeys == nil {
		rs.newKeys = map[string]uint32{}
	}
	id := rs.w.nextKey + uint32(len(rs.newKeys))
	rs.newKeys[name] = id
	rs.buf = runfmt.AppendKey(rs.buf, rs.next(), id, name)
	return id
}

// point is one MLflow metric value.
type point struct {
	key   string
	value float64
	ts    int64 // unix milliseconds
	step  int64
}

// metrics appends metrics records for pts, one per distinct (step,
// timestamp) in order of first appearance, leaving out every point that
// the log holds already with the same key, value, timestamp and step: a
// retried request stores nothing twice. It returns how many it wrote.
func (rs *records) metrics(pts []point) int {
	type group struct {
		step, ts int64
		ids      []uint32
		vals     []float64
	}
	var groups []group
	index := map[[2]int64]int{}
	n := 0
	for _, p := range pts {
		h := pointHash(p)
		if rs.w.seen.has(h) {
			continue
		}
		if _, dup := rs.seen[h]; dup {
			continue
		}
		if rs.seen == nil {
			rs.seen = make(map[uint64]struct{}, len(pts))
		}
		rs.seen[h] = struct{}{}
		id := rs.key(p.key)
		gi, ok := index[[2]int64{p.step, p.ts}]
		if !ok {
			gi = len(groups)
			index[[2]int64{p.step, p.ts}] = gi
			groups = append(groups, group{step: p.step, ts: p.ts})
		}
		groups[gi].ids = append(groups[gi].ids, id)
		groups[gi].vals = append(groups[gi].vals, p.value)
		n++
	}
	for _, g := range groups {
		for i := 0; i < len(g.ids); i += runfmt.MaxMetricsPairs {
			j := min(i+runfmt.MaxMetricsPairs, len(g.ids))
			rs.buf = runfmt.AppendMetrics(rs.buf, rs.next(), g.step, float64(g.ts)/1000, g.ids[i:j], g.vals[i:j])
		}
	}
	return n
}

// commit makes the log adopt the records' sequence numbers, keys and
// points once they are written.
func (rs *records) commit(n int) {
	w := rs.w
	w.seq = rs.seq
	w.end += int64(n)
	for k, id := range rs.newKeys {
		w.keys[k] = id
		w.nextKey = max(w.nextKey, id+1)
	}
	for h := range rs.seen {
		w.seen.add(h)
	}
}

// append encodes records with build and appends them to the log, synced,
// under the file's lock; build sees the log as it is on disk. Nothing is
// written if build fails or encodes nothing. The caller holds w.mu.
func (w *logWriter) append(build func(rs *records) error) error {
	f, unlock, err := w.open()
	if err != nil {
		return err
	}
	defer f.Close()
	defer unlock()
	rs := &records{w: w, seq: w.seq}
	if err := build(rs); err != nil {
		return err
	}
	if rs.err != nil {
		return rs.err
	}
	if len(rs.buf) == 0 {
		return nil
	}
	n, err := f.WriteAt(rs.buf, w.end)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Leave no partial record behind: the next append would follow it.
		f.Truncate(w.end)
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	rs.commit(n)
	return nil
}

// open opens the log for appending under an exclusive lock, reading it
// again first if it is not what the writer last saw, and creating it with
// an attached header if this is the run's first write through MLflow.
func (w *logWriter) open() (*os.File, func(), error) {
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", w.path, err)
	}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("lock %s: %w", w.path, err)
	}
	fail := func(err error) (*os.File, func(), error) {
		unlock()
		f.Close()
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if fi.Size() == 0 {
		if w.primary {
			return fail(fmt.Errorf("%s is empty: the run's header is lost", w.path))
		}
		h := runfmt.Header{Format: 1, ID: w.id, Attach: true, Time: float64(time.Now().UnixMicro()) / 1e6, PID: os.Getpid(), Writer: writerName}
		h.Host, _ = os.Hostname()
		buf, err := runfmt.AppendJSON([]byte(runfmt.Magic), runfmt.TypeHeader, 1, h)
		if err == nil {
			_, err = f.Write(buf)
		}
		if err != nil {
			f.Truncate(0)
			return fail(fmt.Errorf("write %s: %w", w.path, err))
		}
		w.reset()
		w.seq, w.end, w.loaded = 1, int64(len(buf)), true
		return f, unlock, nil
	}
	if !w.loaded || fi.Size() != w.end {
		if err := w.load(f); err != nil {
			return fail(err)
		}
		if fi.Size() > w.end { // a torn tail: a writer died mid-record
			if err := f.Truncate(w.end); err != nil {
				return fail(fmt.Errorf("cut torn tail of %s: %w", w.path, err))
			}
		}
	}
	return f, unlock, nil
}

func (w *logWriter) reset() {
	w.seq, w.end, w.nextKey = 0, 0, 0
	w.keys = map[string]uint32{}
	w.seen = seenSet{}
	w.loaded = false
}

// load reads the log to learn its last sequence number, its keys and the
// points it holds.
func (w *logWriter) load(f *os.File) error {
	w.reset()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := runfmt.NewReader(f, w.path)
	names := map[uint32]string{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		w.seq = max(w.seq, rec.Seq)
		switch rec.Type {
		case runfmt.TypeKey:
			if id, name, err := rec.Key(); err == nil {
				w.keys[name], names[id] = id, name
				w.nextKey = max(w.nextKey, id+1)
			}
		case runfmt.TypeMetrics:
			m, err := rec.Metrics()
			if err != nil {
				continue
			}
			ts := int64(math.Round(m.Time * 1000))
			for i := range m.Len() {
				id, v := m.At(i)
				if name, ok := names[id]; ok {
					w.seen.add(pointHash(point{name, v, ts, m.Step}))
				}
			}
		}
	}
	w.end, w.loaded = r.Offset(), true
	return nil
}

// isOurs reports whether the run.log at path was created by this handler:
// whether its header names writerName.
func isOurs(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	rec, err := runfmt.NewReader(f, path).Next()
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	var h runfmt.Header
	if rec.Type != runfmt.TypeHeader || rec.DecodeJSON(&h) != nil {
		return false, nil
	}
	return strings.HasPrefix(h.Writer, "runlog-mlflow/"), nil
}

// seenSet remembers the hashes of the latest points a log holds: at least
// seenCapacity of them and at most twice as many. A retried request comes
// right after the first, far inside that window. It is two fixed tables
// with open addressing; when the newer fills up, it becomes the older and
// the older is cleared. A table is allocated on the first point.
type seenSet struct {
	cur, old []uint64 // hashes; 0 marks an empty slot
	n        int      // hashes in cur
}

const (
	seenSlots    = 1 << 15
	seenCapacity = seenSlots / 2 // a table is at most half full
)

func (s *seenSet) has(h uint64) bool {
	h |= 1
	return probe(s.cur, h) || probe(s.old, h)
}

func probe(t []uint64, h uint64) bool {
	if t == nil {
		return false
	}
	for i := h & (seenSlots - 1); ; i = (i + 1) & (seenSlots - 1) {
		switch t[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *seenSet) add(h uint64) {
	h |= 1
	if s.cur == nil || s.n >= seenCapacity {
		s.cur, s.old = s.old, s.cur
		if s.cur == nil {
			s.cur = make([]uint64, seenSlots)
		} else {
			clear(s.cur)
		}
		s.n = 0
	}
	for i := h & (seenSlots - 1); ; i = (i + 1) & (seenSlots - 1) {
		switch s.cur[i] {
		case h:
			return
		case 0:
			s.cur[i] = h
			s.n++
			return
		}
	}
}

var seed = maphash.MakeSeed()

// pointHash identifies a point as MLflow's metrics table does: by key,
// timestamp, step and value (its bits, so that NaN equals NaN).
func pointHash(p point) uint64 {
	h := maphash.String(seed, p.key)
	for _, x := range [3]uint64{uint64(p.ts), uint64(p.step), math.Float64bits(p.value)} {
		h ^= x
		h *= 0x9e3779b97f4a7c15
		h ^= h >> 29
	}
	return h
}

// writers holds the logWriter of every run written recently. A writer idle
// for a while is dropped; it is read again from its file when needed.
type writers struct {
	mu sync.Mutex
	m  map[string]*logWriter
}

func newWriters() *writers { return &writers{m: map[string]*logWriter{}} }

// maxWriters bounds the runs whose logs are kept in memory.
const maxWriters = 128

// get returns the locked writer of the run in dir.
func (ws *writers) get(id, dir string) (*logWriter, error) {
	ws.mu.Lock()
	w := ws.m[id]
	if w == nil {
		if len(ws.m) >= maxWriters {
			ws.evict()
		}
		w = &logWriter{id: id, dir: dir}
		ws.m[id] = w
	}
	ws.mu.Unlock()
	w.mu.Lock()
	if w.dropped {
		w.mu.Unlock()
		return ws.get(id, dir)
	}
	w.used = time.Now()
	if w.path == "" {
		if err := w.choose(); err != nil {
			w.mu.Unlock()
			return nil, err
		}
	}
	return w, nil
}

// choose decides which file the writer writes: the run.log this handler
// created, else an attached log.
func (w *logWriter) choose() error {
	ours, err := isOurs(filepath.Join(w.dir, layout.RunLogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run %s has no run.log", w.id)
	}
	if err != nil {
		return err
	}
	w.primary = ours
	w.path = filepath.Join(w.dir, attachedLog)
	if ours {
		w.path = filepath.Join(w.dir, layout.RunLogFile)
	}
	return nil
}

// evict drops the least recently used writer that nobody holds. The
// caller holds ws.mu.
func (ws *writers) evict() {
	var oldest *logWriter
	for _, w := range ws.m {
		if w.mu.TryLock() {
			if oldest == nil || w.used.Before(oldest.used) {
				oldest = w
			}
			w.mu.Unlock()
		}
	}
	if oldest != nil && oldest.mu.TryLock() {
		oldest.dropped = true
		delete(ws.m, oldest.id)
		oldest.mu.Unlock()
	}
}

// add registers the writer of a run just created, locked.
func (ws *writers) add(w *logWriter) {
	w.mu.Lock()
	w.used = time.Now()
	ws.mu.Lock()
	if len(ws.m) >= maxWriters {
		ws.evict()
	}
	ws.m[w.id] = w
	ws.mu.Unlock()
}

// raw appends a record with the given payload.
func (rs *records) raw(t runfmt.Type, payload []byte) {
	rs.buf = runfmt.AppendRecord(rs.buf, t, rs.next(), payload)
}
