package ingest

import (
	"context"
	"errors"
	"math"
	"sort"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// A resumed program that did not continue: indexing judges the first step
// each resumed process logs by series.CheckRestart, for every run however
// it was resumed (`runlog run --resume`, a client's resume=, the Go
// client's Resume). A first step at or below the step the run had reached
// — the step of the rewind that followed the resume, else the greatest
// step the run held — means the program started again: the batch of that
// point carries a rewind to the step before it, so the new points
// supersede the earlier attempt's from there on (kept, left out of
// charts, statistics and exports), and an alert event derived like the
// NaN and spike alerts (data {"derived": true, "rule": "restart"}) says
// so. `runlog run` records the same alert when it sees the program's
// first step; views drop the derived one then (DropDuplicateAlerts).
//
// A process starts at a resume record (in the stream that holds it) or at
// the header of an attached log whose time falls in a later segment than
// the run's first (the program `runlog run --resume` started, logging
// through a client). Its first step is that of its first metrics record
// holding a key other than the machine's metrics (sys/…), which the
// runner logs at the latest step it knows.

// The order logs are indexed in. A rewind supersedes the points the store
// holds when it is applied, so the points a process logged before a resume
// must be in the store before the resume's rewind: the logs of one run are
// indexed in the order their processes ran — run.log up to the first
// resume later than the start of the earliest attached log not yet read,
// then the attached logs that started before that resume, and so on. A
// live run is indexed so anyway (the runner writes the resume before it
// starts the program); a run indexed from scratch (`runlog index
// --rebuild`, a folder copied from another machine) is not, but for this.

// inTimeOrder calls index for each of logs (a run's run.log, if it is
// among them, and its attached logs) in the order their processes ran:
// index reads a log up to the first resume record later than stopAfter
// and returns that resume's time, or +Inf when it read to the end.
func inTimeOrder(logs []runFile, index func(f runFile, stopAfter float64) (float64, error)) error {
	var primary *runFile
	type attached struct {
		f       runFile
		started float64
	}
	var rest []attached
	for i, f := range logs {
		if f.stream == store.PrimaryStream {
			primary = &logs[i]
		} else {
			rest = append(rest, attached{f, headerTime(f)})
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].started < rest[j].started })
	for primary != nil || len(rest) > 0 {
		next := math.Inf(1) // the resume run.log's reading stopped before
		if primary != nil {
			limit := math.Inf(1)
			if len(rest) > 0 {
				limit = rest[0].started
			}
			var err error
			if next, err = index(*primary, limit); err != nil {
				return err
			}
			if math.IsInf(next, 1) {
				primary = nil
			}
		}
		for len(rest) > 0 && (rest[0].started < next || primary == nil) {
			if _, err := index(rest[0].f, math.Inf(1)); err != nil {
				return err
			}
			rest = rest[1:]
		}
	}
	return nil
}

// headerTime returns the time in the header of the log f: when its
// process started; +Inf if it has none (read after the others).
func headerTime(f runFile) float64 {
	r, err := f.read(0)
	if err != nil {
		return math.Inf(1)
	}
	defer r.Close()
	rec, err := runfmt.NewReader(r, f.path).Next()
	var h runfmt.Header
	if err != nil || rec.Type != runfmt.TypeHeader || rec.DecodeJSON(&h) != nil {
		return math.Inf(1)
	}
	return h.Time
}

// resumeAfter reports whether rec is a resume record later than t, and its
// time.
func resumeAfter(rec runfmt.Record, t float64) (float64, bool) {
	if rec.Type != runfmt.TypeResume || math.IsInf(t, 1) {
		return 0, false
	}
	var r runfmt.Resume
	if rec.DecodeJSON(&r) != nil || !(r.Time > t) {
		return 0, false
	}
	return r.Time, true
}

// RuleRestart is the rule of the derived alert about a resumed program
// that started again.
const RuleRestart = "restart"

// proc is the state of the process writing a stream: whether its first
// step is still to be judged.
type proc struct {
	pending bool    // the first step of the process is yet to come
	resumed bool    // the process started at a resume record
	started float64 // when it started: the resume's time or the header's
	rewound *int64  // the step of a rewind the stream holds since then
}

// observe updates the state with a record of the stream; names gives the
// keys' names by id.
func (p *proc) observe(rec runfmt.Record, primary bool) {
	switch rec.Type {
	case runfmt.TypeHeader:
		var h runfmt.Header
		if !primary && rec.DecodeJSON(&h) == nil {
			*p = proc{pending: true, started: h.Time}
		}
	case runfmt.TypeResume:
		var r runfmt.Resume
		if rec.DecodeJSON(&r) == nil {
			*p = proc{pending: true, resumed: true, started: r.Time}
		}
	case runfmt.TypeRewind:
		var r runfmt.Rewind
		if p.pending && rec.DecodeJSON(&r) == nil && r.Step >= 0 {
			step := r.Step
			p.rewound = &step
		}
	}
}

// firstStep reports whether the metrics record m is the first step of the
// process (and no longer pending): it holds a key that is not one of the
// machine's metrics.
func (p *proc) firstStep(m runfmt.Metrics, keys map[uint32]string) bool {
	if !p.pending {
		return false
	}
	for i := 0; i < m.Len(); i++ {
		id, _ := m.At(i)
		if name, ok := keys[id]; ok && !series.IsSystemKey(name) {
			p.pending = false
			return true
		}
	}
	return false
}

// restart judges a metrics record of the stream: if it is the first step
// of a resumed process and that process started again, it returns the
// restart, which the record's batch must begin with.
func (bl *builder) restart(ctx context.Context, st store.Store, rec runfmt.Record) (series.Restart, bool, error) {
	p := &bl.watch.proc
	if !p.pending {
		return series.Restart{}, false, nil
	}
	m, ok := checkedMetrics(rec)
	if !ok || !p.firstStep(m, bl.keys) {
		return series.Restart{}, false, nil
	}
	from, ok, err := reached(ctx, st, bl.file.id, *p)
	if err != nil || !ok {
		return series.Restart{}, false, err
	}
	r, restarted := series.CheckRestart(from, m.Step)
	return r, restarted, nil
}

// reached returns the step run id had reached when the process p resumed
// it, and false if p did not resume the run (it is the run's first
// process) or the run held no step.
func reached(ctx context.Context, st store.Store, id string, p proc) (int64, bool, error) {
	segStart := p.started
	if !p.resumed {
		segs, err := st.Segments(ctx, id)
		if err != nil || len(segs) < 2 {
			return 0, false, ignoreMissing(err)
		}
		i := 0
		for i+1 < len(segs) && ms(p.started) >= ms(segs[i+1].Start) {
			i++
		}
		if i == 0 {
			return 0, false, nil // a process of the run's first segment
		}
		segStart = segs[i].Start
	}
	if p.rewound != nil {
		return *p.rewound, true, nil
	}
	evs, err := st.Events(ctx, id)
	if err != nil {
		return 0, false, ignoreMissing(err)
	}
	// The last rewind another stream (the runner's run.log) made since
	// the process's segment began.
	var last *runfmt.Event
	for i := range evs {
		e := &evs[i].Event
		if e.Kind == runfmt.EventRewound && e.Step != nil && ms(e.Time) >= ms(segStart) && (last == nil || e.Time >= last.Time) {
			last = e
		}
	}
	if last != nil {
		return *last.Step, true, nil
	}
	r, err := st.Run(ctx, id)
	if err != nil || r.MaxStep < 0 {
		return 0, false, ignoreMissing(err)
	}
	return r.MaxStep, true, nil
}

// ms rounds a time in unix seconds to the millisecond the store keeps.
func ms(t float64) int64 { return int64(math.Round(t * 1000)) }

// ignoreMissing treats a run the store does not hold yet as no error: its
// first batch is still being built.
func ignoreMissing(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// restartEvent is the derived alert about a restart found at the record
// seq, at time t.
func restartEvent(r series.Restart, t float64, seq uint64) store.Event {
	step := r.First
	return store.Event{Seq: derivedSeqBase | seq<<16 | 0xffff, Event: runfmt.Event{
		Kind: runfmt.EventAlert, Time: t, Step: &step, Level: "warn", Title: r.Title(), Text: r.Text(""),
		Data: map[string]any{"derived": true, "rule": RuleRestart},
	}}
}
