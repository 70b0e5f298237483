package mlflow

import (
	"context"
	"hash/maphash"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/mlflow/mlbackend"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/version"
)

// attachedLog is the log this handler writes in the folder of a run that
// another writer created; runfmt calls it an attached log.
const attachedLog = "run.mlflow.log"

// writerName marks the run.log files this handler writes; a run whose
// run.log it did not write gets an attached log instead.
var writerName = "runlog-mlflow/" + version.String()

// logWriter appends records to the log this handler keeps for one run,
// through the backend's Log. Requests that change the run hold mu from
// reading the run's state to the end of indexing, so that the run's
// changes are written and indexed one at a time.
type logWriter struct {
	mu      sync.Mutex
	dropped bool // evicted from writers: look the run up again
	id      string
	log     mlbackend.Log
	primary bool              // log is the run's own run.log, which this handler created
	names   map[uint32]string // key names by id, while the log is read
	seen    seenSet
	used    time.Time
}

// logOptions are the options of the writer's log: the header of an
// attached log, and the visit that learns the points the log holds.
func (w *logWriter) logOptions() runfmt.AppendOptions {
	return runfmt.AppendOptions{Visit: w.visit, Reset: w.reset, Create: func() runfmt.Header {
		h := runfmt.Header{Format: 1, ID: w.id, Attach: true, Time: float64(time.Now().UnixMicro()) / 1e6, PID: os.Getpid(), Writer: writerName}
		h.Host, _ = os.Hostname()
		return h
	}}
}

// setLog makes the writer write log.
func (w *logWriter) setLog(log mlbackend.Log) {
	w.log, w.primary = log, log.Primary()
}

// records are records being encoded for one append. They take sequence
// numbers and key ids after the log's, which the log adopts only once the
// records are on disk.
type records struct {
	w    *logWriter
	enc  *runfmt.Encoder
	seen map[uint64]struct{}
	err  error
}

// json appends a record with a JSON payload.
func (rs *records) json(t runfmt.Type, v any) {
	if rs.err != nil {
		return
	}
	rs.err = rs.enc.JSON(t, v)
}

// raw appends a record with the given payload.
func (rs *records) raw(t runfmt.Type, payload []byte) {
	rs.enc.Record(t, payload)
}

// key returns the id of key, appending a key record if it is new.
func (rs *records) key(name string) uint32 {
	id, err := rs.enc.Key(name)
	if err != nil && rs.err == nil {
		rs.err = err
	}
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
			rs.enc.Metrics(g.step, float64(g.ts)/1000, g.ids[i:j], g.vals[i:j])
		}
	}
	return n
}

// commit makes the log remember the records' points once they are written.
func (rs *records) commit() {
	for h := range rs.seen {
		rs.w.seen.add(h)
	}
}

// append encodes records with build and appends them to the log,
// durably; build sees the log as it is stored, and may be called again if
// another process appended meanwhile. Nothing is written if build fails or
// encodes nothing. The caller holds w.mu.
func (w *logWriter) append(ctx context.Context, build func(rs *records) error) error {
	var rs *records
	err := w.log.Append(ctx, func(enc *runfmt.Encoder) error {
		rs = &records{w: w, enc: enc}
		if err := build(rs); err != nil {
			return err
		}
		return rs.err
	})
	if err != nil {
		return err
	}
	if rs != nil {
		rs.commit()
	}
	return nil
}

// reset forgets what the log was read for, before it is read again.
func (w *logWriter) reset() {
	w.names = map[uint32]string{}
	w.seen = seenSet{}
}

// visit learns the points the log holds, as it is read, so that a retried
// request adds none twice.
func (w *logWriter) visit(rec runfmt.Record) {
	switch rec.Type {
	case runfmt.TypeKey:
		if id, name, err := rec.Key(); err == nil {
			w.names[id] = name
		}
	case runfmt.TypeMetrics:
		m, err := rec.Metrics()
		if err != nil {
			return
		}
		ts := int64(math.Round(m.Time * 1000))
		for i := range m.Len() {
			id, v := m.At(i)
			if name, ok := w.names[id]; ok {
				w.seen.add(pointHash(point{name, v, ts, m.Step}))
			}
		}
	}
}

// ours reports whether a run.log with header h was created by this
// handler: whether h names writerName.
func ours(h runfmt.Header) bool { return strings.HasPrefix(h.Writer, "runlog-mlflow/") }

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

// get returns the locked writer of run id, asking the backend for its
// log if it has none.
func (ws *writers) get(ctx context.Context, b mlbackend.Backend, id string) (*logWriter, error) {
	ws.mu.Lock()
	w := ws.m[id]
	if w == nil {
		if len(ws.m) >= maxWriters {
			ws.evict()
		}
		w = &logWriter{id: id}
		ws.m[id] = w
	}
	ws.mu.Unlock()
	w.mu.Lock()
	if w.dropped {
		w.mu.Unlock()
		return ws.get(ctx, b, id)
	}
	w.used = time.Now()
	if w.log == nil {
		log, err := b.Log(ctx, id, ours, w.logOptions())
		if err != nil {
			w.mu.Unlock()
			return nil, err
		}
		w.setLog(log)
	}
	return w, nil
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

// lockPath takes an exclusive lock on the file at path, creating it, and
// returns the function that releases it.
func lockPath(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	unlock, err := runfmt.LockFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { unlock(); f.Close() }, nil
}
