package ingest

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Derived alerts: indexing judges the loss series of every stream of every
// run by series.Watch — the first non-finite value of each key, and spikes
// by series.DefaultSpikeFactor — and stores what it finds as alert events
// with data {"derived": true, "rule", "key"} (docs/storage.md).
//
// A writer may record the same alert itself: `runlog run`'s monitor does,
// in the same stream when it parses the program's output, a few records
// after the value. So a derived alert waits for alertDelay more records of
// its stream (or the stream's status record, the writer's end) and is
// dropped if an alert with its title and step was recorded meanwhile. The
// outcome is a function of the stream's records alone — never of what else
// the store holds, or of where a live run's indexing stopped — so the store
// holds the same alerts however a run was indexed, and `runlog index
// --rebuild` derives them again identically. An alert recorded in another
// stream (the runner's run.log, beside a client's attached log) may say the
// same: views leave such duplicates out with DropDuplicateAlerts.

// derivedSeqBase sets the sequence numbers of derived events apart from
// those of records: derivedSeqBase | record seq << 16 | index of the alert
// in its metrics record. Stored as SQLite integers, they stay below 1<<63.
const derivedSeqBase = 1 << 62

// alertDelay is how many records of its stream a derived alert waits for
// a recorded one that says the same.
const alertDelay = 16

// watcher is the state of derived alerts of one stream, as of a cursor.
type watcher struct {
	w       *series.Watch
	pending []pendingAlert    // derived, waiting for alertDelay records
	small   []string          // watched key names by id, for ids < 1<<16; "" if not watched
	large   map[uint32]string // watched key names by larger ids
	cursor  store.Cursor      // the state covers the stream up to here
	proc    proc              // the process writing the stream (resume.go)
}

type pendingAlert struct {
	due uint64 // the seq of the record that releases it
	ev  store.Event
}

func newWatcher() *watcher {
	return &watcher{w: series.NewWatch(series.DefaultSpikeFactor), large: map[uint32]string{}}
}

// define records what key id names.
func (wt *watcher) define(id uint32, name string) {
	if !series.IsWatchedKey(name) {
		name = ""
	}
	if id < 1<<16 {
		if name == "" && int(id) >= len(wt.small) {
			return
		}
		for int(id) >= len(wt.small) {
			wt.small = append(wt.small, "")
		}
		wt.small[id] = name
		return
	}
	if name == "" {
		delete(wt.large, id)
	} else {
		wt.large[id] = name
	}
}

func (wt *watcher) name(id uint32) string {
	if id < 1<<16 {
		if int(id) < len(wt.small) {
			return wt.small[id]
		}
		return ""
	}
	if len(wt.large) == 0 {
		return ""
	}
	return wt.large[id]
}

// metrics observes the values of a metrics record that passed the
// builder's checks; the alerts they raise wait in pending.
func (wt *watcher) metrics(seq uint64, m runfmt.Metrics) {
	n := 0
	for i := 0; i < m.Len(); i++ {
		id, v := m.At(i)
		name := wt.name(id)
		if name == "" {
			continue
		}
		if a, ok := wt.w.Observe(name, m.Step, v); ok {
			ev := derivedEvent(a, m.Time, derivedSeqBase|seq<<16|uint64(n&0xffff))
			wt.pending = append(wt.pending, pendingAlert{due: seq + alertDelay, ev: ev})
			n++
		}
	}
}

// recorded takes an event a writer recorded: the pending derived alerts it
// repeats are dropped.
func (wt *watcher) recorded(e runfmt.Event) {
	if len(wt.pending) == 0 || e.Kind != runfmt.EventAlert {
		return
	}
	wt.pending = slices.DeleteFunc(wt.pending, func(p pendingAlert) bool { return sameAlert(e, p.ev.Event) })
}

// release returns the pending alerts due at the record seq — all of them
// at the stream's status record.
func (wt *watcher) release(seq uint64, end bool) []store.Event {
	var out []store.Event
	keep := wt.pending[:0]
	for _, p := range wt.pending {
		if end || p.due <= seq {
			out = append(out, p.ev)
		} else {
			keep = append(keep, p)
		}
	}
	wt.pending = keep
	return out
}

func derivedEvent(a series.Alert, t float64, seq uint64) store.Event {
	step := a.Step
	return store.Event{Seq: seq, Event: runfmt.Event{
		Kind: runfmt.EventAlert, Time: t, Step: &step, Level: "error", Title: a.Title(), Text: a.Text(),
		Data: map[string]any{"derived": true, "rule": a.Rule, "key": a.Key},
	}}
}

// IsDerived reports whether e is an alert indexing derived, not one a
// writer recorded.
func IsDerived(e runfmt.Event) bool {
	d, _ := e.Data["derived"].(bool)
	return e.Kind == runfmt.EventAlert && d
}

// sameAlert reports whether the recorded alert r says what the derived
// alert d says: the same title, at the same step (its step, or "at step N"
// in its text, which is how `runlog run` says it).
func sameAlert(r, d runfmt.Event) bool {
	if r.Kind != runfmt.EventAlert || IsDerived(r) || r.Title != d.Title || d.Step == nil {
		return false
	}
	if r.Step != nil && *r.Step == *d.Step {
		return true
	}
	return mentionsStep(r.Text, *d.Step)
}

func mentionsStep(text string, step int64) bool {
	want := "at step " + strconv.FormatInt(step, 10)
	for rest := text; ; {
		i := strings.Index(rest, want)
		if i < 0 {
			return false
		}
		rest = rest[i+len(want):]
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return true
		}
	}
}

// DropDuplicateAlerts returns evs without the derived alerts that repeat an
// alert a writer recorded (the same title at the same step). Indexing
// stores both, whichever it reads first, so that what it stores does not
// depend on the order streams and batches were indexed in; views that show
// events call this.
func DropDuplicateAlerts(evs []store.Event) []store.Event {
	var recorded []runfmt.Event
	derived := false
	for _, e := range evs {
		if IsDerived(e.Event) {
			derived = true
		} else if e.Kind == runfmt.EventAlert {
			recorded = append(recorded, e.Event)
		}
	}
	if !derived || len(recorded) == 0 {
		return evs
	}
	out := make([]store.Event, 0, len(evs))
	for _, e := range evs {
		if IsDerived(e.Event) && duplicates(recorded, e.Event) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func duplicates(recorded []runfmt.Event, d runfmt.Event) bool {
	for _, r := range recorded {
		if sameAlert(r, d) {
			return true
		}
	}
	return false
}

// watchers keeps, between indexings in one process, the derived-alert
// state of the streams it indexed, so that a live run is not read again
// from its start each time it grows. An entry is used only if the store's
// cursor is still the one it was saved at.
var watchers = struct {
	sync.Mutex
	m map[string]*watcher
}{m: map[string]*watcher{}}

// maxWatchers bounds the entries kept; past it, all are dropped.
const maxWatchers = 4096

// takeWatcher returns the derived-alert state of f as of cur: a fresh one
// for a stream indexed from its start; the one kept from the last indexing
// if it stopped at cur, or brought up to cur by reading only the records
// after where it stopped, if the stream grew since through another writer
// of the store (another replica of a team server, whose load balancer
// takes turns); or else one rebuilt by reading the stream's metrics up to
// cur — only when a key of the stream is watched or the run was resumed
// (the state of the process writing the stream, resume.go).
func takeWatcher(f runFile, cur store.Cursor, keys map[uint32]string, resumed func() bool) *watcher {
	watchers.Lock()
	wt := watchers.m[f.path]
	delete(watchers.m, f.path)
	watchers.Unlock()
	if cur.Offset == 0 {
		return newWatcher()
	}
	if wt != nil && wt.cursor.Seq == cur.Seq && wt.cursor.Offset == cur.Offset {
		return wt
	}
	if wt != nil && wt.cursor.Offset > 0 && wt.cursor.Seq <= cur.Seq && wt.cursor.Offset < cur.Offset {
		// Logs only grow: the kept state plus the records after it is
		// the state at cur.
		if wt.replay(f, wt.cursor, cur, keys) {
			return wt
		}
	}
	wt = newWatcher()
	watched := false
	for _, name := range keys {
		watched = watched || series.IsWatchedKey(name)
	}
	if watched || resumed() {
		wt.replay(f, store.Cursor{}, cur, keys)
	}
	// The ids the stream defined before cur name its keys from here on.
	for id, name := range keys {
		wt.define(id, name)
	}
	return wt
}

// keepWatcher saves the state of a stream indexed up to cur.
func keepWatcher(f runFile, wt *watcher, cur store.Cursor) {
	wt.cursor = cur
	watchers.Lock()
	defer watchers.Unlock()
	if len(watchers.m) >= maxWatchers {
		clear(watchers.m)
	}
	watchers.m[f.path] = wt
}

// replay observes the records of stream f after from up to cur, as
// indexing them did (keys names the ids the stream defined before cur); the
// alerts they released are in the store already. It reports whether it
// read up to cur: a stream that could not be read leaves the state as of
// wherever reading stopped.
func (wt *watcher) replay(f runFile, from, cur store.Cursor, keys map[uint32]string) bool {
	path := f.path
	file, err := f.read(from.Offset)
	if err != nil {
		return false
	}
	defer file.Close()
	r := runfmt.NewReaderAt(io.LimitReader(file, cur.Offset-from.Offset), path, from.Offset)
	seq := from.Seq
	for {
		rec, err := r.Next()
		if err == io.EOF && r.Offset() == cur.Offset {
			return true
		}
		if err != nil || rec.Seq > cur.Seq {
			return err == nil
		}
		if rec.Seq <= seq {
			continue
		}
		seq = rec.Seq
		switch rec.Type {
		case runfmt.TypeKey:
			if id, name, err := rec.Key(); err == nil {
				wt.define(id, name)
			}
		case runfmt.TypeMetrics:
			if m, ok := checkedMetrics(rec); ok {
				wt.metrics(rec.Seq, m)
				wt.proc.firstStep(m, keys)
			}
		case runfmt.TypeEvent:
			var e runfmt.Event
			if rec.DecodeJSON(&e) == nil {
				wt.recorded(e)
			}
		}
		wt.proc.observe(rec, f.stream == store.PrimaryStream)
		wt.release(rec.Seq, rec.Type == runfmt.TypeStatus) // stored already
	}
}

// checkedMetrics decodes a metrics record that indexing applies: one with
// a valid step and time.
func checkedMetrics(rec runfmt.Record) (runfmt.Metrics, bool) {
	m, err := rec.Metrics()
	if err != nil || runfmt.CheckStep(m.Step) != nil || runfmt.CheckTime(m.Time) != nil {
		return m, false
	}
	return m, true
}
