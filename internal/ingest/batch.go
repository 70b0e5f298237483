package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// builder turns the records of one run.log into store batches.
type builder struct {
	file    runFile
	warnFn  func(error)
	keys    map[uint32]string // run.log key ids seen so far
	seq     uint64            // last sequence number added
	b       *store.Batch
	byID    []*series.Points // this batch's points by key id, for ids < len
	spare   []*series.Points // emptied points of written batches, to fill again
	points  int
	records int
	// richBytes is about how many bytes the batch's texts, histograms and
	// media records hold (maxBatchRichBytes).
	richBytes int

	watch *watcher // derived alerts and the writing process: the stream's state

	restarting *series.Restart // the next metrics record restarts the run (resume.go)
}

func newBuilder(f runFile, cur store.Cursor, keys map[uint32]string, wt *watcher, warn func(error)) *builder {
	bl := &builder{file: f, warnFn: warn, keys: keys, seq: cur.Seq, watch: wt}
	bl.reset(cur)
	return bl
}

func (bl *builder) reset(prev store.Cursor) {
	if bl.b != nil {
		// The store keeps nothing of a written batch: its points' columns,
		// grown to the batch's size, serve the next batch of a long log.
		for _, pts := range bl.b.Points {
			pts.Reset()
			bl.spare = append(bl.spare, pts)
		}
	}
	bl.b = &store.Batch{RunID: bl.file.id, Stream: bl.file.stream, Path: bl.file.folder(), Prev: prev}
	clear(bl.byID)
	bl.points, bl.records, bl.richBytes = 0, 0, 0
}

func (bl *builder) warn(err error) {
	if bl.warnFn != nil {
		bl.warnFn(err)
	}
}

func (bl *builder) warnRecord(rec runfmt.Record, err error) {
	bl.warn(fmt.Errorf("%s: offset %d: skipped %s record %d: %w", bl.file.path, rec.Offset, rec.Type, rec.Seq, err))
}

// cutBefore reports whether rec must start a new batch: resume and rewind
// records apply to everything the store holds before them, and so does the
// first step of a resumed program that started again (resume.go).
func (bl *builder) cutBefore(ctx context.Context, st store.Store, rec runfmt.Record) (bool, error) {
	switch rec.Type {
	case runfmt.TypeResume:
		return !bl.b.Empty(), nil
	case runfmt.TypeRewind:
		return len(bl.b.Points) > 0 || bl.b.Rewind != nil, nil
	case runfmt.TypeMetrics:
		r, restarted, err := bl.restart(ctx, st, rec)
		if err != nil || !restarted {
			return false, err
		}
		bl.restarting = &r
		return len(bl.b.Points) > 0 || bl.b.Rewind != nil, nil
	}
	return false, nil
}

// flush writes the batch, ending at offset. Only the final flush of a read
// records the file's size and time, so that a read cut short is resumed.
func (bl *builder) flush(ctx context.Context, st store.Store, offset int64, final bool, res *Result) error {
	b := bl.b
	b.Next = store.Cursor{Seq: bl.seq, Offset: offset}
	if final {
		b.Next.Size, b.Next.Mtime = bl.file.size, bl.file.mod
	}
	if b.Next == b.Prev {
		return nil
	}
	if err := st.Write(ctx, b); err != nil {
		return err
	}
	res.Records += int64(bl.records)
	res.Points += int64(bl.points)
	bl.reset(b.Next)
	return nil
}

// add puts one record into the batch.
func (bl *builder) add(rec runfmt.Record) {
	b := bl.b
	switch rec.Type {
	case runfmt.TypeMetrics:
		bl.metrics(rec)
	case runfmt.TypeKey:
		id, name, err := rec.Key()
		if err != nil {
			bl.warnRecord(rec, err)
			break
		}
		bl.keys[id] = name
		bl.watch.define(id, name)
		if b.KeyIDs == nil {
			b.KeyIDs = map[uint32]string{}
		}
		b.KeyIDs[id] = name
		if int(id) < len(bl.byID) {
			bl.byID[id] = nil
		}
	case runfmt.TypeHeartbeat:
		t, err := rec.Heartbeat()
		if err != nil || runfmt.CheckTime(t) != nil {
			bl.warnRecord(rec, fmt.Errorf("bad time"))
			break
		}
		b.Seen(t)
	case runfmt.TypeHeader:
		var h runfmt.Header
		if bl.decode(rec, &h) {
			// An attached log's header says who attached, not what the run
			// is, and its time is not the run's: `runlog note` attaches a
			// log to a run long finished.
			if bl.file.stream == store.PrimaryStream {
				b.Header = &h
				b.Seen(h.Time)
			} else {
				b.Defaults = &h
			}
		}
	case runfmt.TypeConfig:
		var cfg map[string]any
		if bl.decode(rec, &cfg) {
			b.Config = append(json.RawMessage(nil), rec.Payload...)
		}
	case runfmt.TypeSummary:
		var sum map[string]json.RawMessage
		if bl.decode(rec, &sum) {
			if b.Summary == nil {
				b.Summary = map[string]json.RawMessage{}
			}
			for k, v := range sum {
				b.Summary[k] = v
			}
		}
	case runfmt.TypeStatus:
		var s runfmt.Status
		if bl.decode(rec, &s) {
			if !runfmt.ValidStatus(s.Status) {
				bl.warnRecord(rec, fmt.Errorf("unknown status %q", s.Status))
				break
			}
			b.Status = &s
			b.Seen(s.Time)
		}
	case runfmt.TypeArtifact:
		var a runfmt.Artifact
		if bl.decode(rec, &a) {
			runfmt.NumberValue(a.Metadata)
			b.Arts = append(b.Arts, store.Artifact{Artifact: a, Seq: rec.Seq})
		}
	case runfmt.TypeEvent:
		var e runfmt.Event
		if bl.decode(rec, &e) {
			runfmt.NumberValue(e.Data)
			b.Events = append(b.Events, store.Event{Event: e, Seq: rec.Seq})
			bl.watch.recorded(e)
			b.Seen(e.Time)
		}
	case runfmt.TypeDefine:
		var d runfmt.Define
		if bl.decode(rec, &d) {
			if d.Goal != runfmt.GoalMinimize && d.Goal != runfmt.GoalMaximize {
				bl.warnRecord(rec, fmt.Errorf("unknown goal %q", d.Goal))
				break
			}
			if b.Defines == nil {
				b.Defines = map[string]string{}
			}
			b.Defines[d.Key] = d.Goal
		}
	case runfmt.TypeAnnotate:
		var a runfmt.Annotate
		if bl.decode(rec, &a) { // not b.Seen: annotating a run is not activity of the run
			if err := runfmt.CheckName("name", a.Name); err != nil {
				// The rest of the record still applies.
				bl.warnRecord(rec, fmt.Errorf("kept the name: %w", err))
				a.Name = ""
			}
			b.Annotations = append(b.Annotations, a)
		}
	case runfmt.TypeText, runfmt.TypeHistogram, runfmt.TypeMedia:
		bl.rich(rec)
	case runfmt.TypeResume:
		var r runfmt.Resume
		if bl.decode(rec, &r) {
			b.Resume = &r
			b.Seen(r.Time)
			b.Events = append(b.Events, store.Event{Seq: rec.Seq, Event: runfmt.Event{
				Kind: runfmt.EventResumed, Time: r.Time, Text: fmt.Sprintf("resumed on %s (pid %d)", r.Host, r.PID)}})
		}
	case runfmt.TypeRewind:
		var r runfmt.Rewind
		if bl.decode(rec, &r) {
			if r.Step < 0 {
				bl.warnRecord(rec, fmt.Errorf("negative step %d", r.Step))
				break
			}
			b.Rewind = &r
			step := r.Step
			b.Events = append(b.Events, store.Event{Seq: rec.Seq, Event: runfmt.Event{
				Kind: runfmt.EventRewound, Time: r.Time, Step: &step,
				Text: fmt.Sprintf("continued from step %d; later points superseded", r.Step)}})
		}
	}
	bl.watch.proc.observe(rec, bl.file.stream == store.PrimaryStream)
	b.Events = append(b.Events, bl.watch.release(rec.Seq, rec.Type == runfmt.TypeStatus)...)
	bl.seq = rec.Seq
	bl.records++
}

func (bl *builder) decode(rec runfmt.Record, v any) bool {
	if err := rec.DecodeJSON(v); err != nil {
		bl.warnRecord(rec, err)
		return false
	}
	return true
}

// metrics adds the points of a metrics record. Points with an undefined key
// id are skipped; a record with a negative step or an impossible time is
// skipped whole.
func (bl *builder) metrics(rec runfmt.Record) {
	m, err := rec.Metrics()
	if err != nil {
		bl.warnRecord(rec, err)
		return
	}
	if err := runfmt.CheckStep(m.Step); err != nil {
		bl.warnRecord(rec, err)
		return
	}
	if err := runfmt.CheckTime(m.Time); err != nil {
		bl.warnRecord(rec, err)
		return
	}
	if r := bl.restarting; r != nil {
		// The program started again: its points supersede the earlier
		// attempt's from its first step on.
		bl.restarting = nil
		bl.b.Rewind = &runfmt.Rewind{Time: m.Time, Step: r.RewindTo()}
		bl.b.Events = append(bl.b.Events, restartEvent(*r, m.Time, rec.Seq))
	}
	ms := int64(math.Round(m.Time * 1000))
	bl.b.Seen(m.Time)
	for i := 0; i < m.Len(); i++ {
		id, v := m.At(i)
		pts := bl.pointsFor(id)
		if pts == nil {
			bl.warnRecord(rec, fmt.Errorf("key id %d was never defined", id))
			continue
		}
		pts.Append(m.Step, ms, v)
		bl.points++
	}
	bl.watch.metrics(rec.Seq, m)
}

// pointsFor returns the batch's points for key id, or nil if the id is
// unknown. Small ids, which are all a normal writer uses, are looked up in
// a slice.
func (bl *builder) pointsFor(id uint32) *series.Points {
	if int(id) < len(bl.byID) && bl.byID[id] != nil {
		return bl.byID[id]
	}
	name, ok := bl.keys[id]
	if !ok {
		return nil
	}
	b := bl.b
	if b.Points == nil {
		b.Points = map[string]*series.Points{}
	}
	pts := b.Points[name]
	if pts == nil {
		if n := len(bl.spare); n > 0 {
			pts, bl.spare = bl.spare[n-1], bl.spare[:n-1]
		} else {
			pts = &series.Points{}
		}
		b.Points[name] = pts
	}
	if id < 1<<16 {
		for int(id) >= len(bl.byID) {
			bl.byID = append(bl.byID, nil)
		}
		bl.byID[id] = pts
	}
	return pts
}

// maxBatchRichBytes bounds the texts, histograms and media records of one
// batch, as maxBatchPoints bounds its points: a text may be 1 MiB.
const maxBatchRichBytes = 32 << 20

// rich adds a text, histogram or media record. One that breaks the
// format's rules (a histogram whose edges do not increase, a media path
// outside media/) is skipped with a warning; text that is not UTF-8 has
// its bad bytes replaced.
func (bl *builder) rich(rec runfmt.Record) {
	b := bl.b
	switch rec.Type {
	case runfmt.TypeText:
		x, err := rec.Text()
		if err != nil {
			bl.warnRecord(rec, err)
			return
		}
		b.Media = append(b.Media, store.MediaEntry{Seq: rec.Seq, Text: x.Text,
			Media: runfmt.Media{Key: x.Key, Step: x.Step, Time: x.Time, Kind: runfmt.MediaText}})
		bl.richBytes += len(x.Text) + len(x.Key)
		b.Seen(x.Time)
	case runfmt.TypeHistogram:
		h, err := rec.Histogram()
		if err != nil {
			bl.warnRecord(rec, err)
			return
		}
		b.Histograms = append(b.Histograms, store.Histogram{Seq: rec.Seq, Histogram: h})
		bl.richBytes += 16*len(h.Counts) + len(h.Key)
		b.Seen(h.Time)
	case runfmt.TypeMedia:
		m, err := rec.Media()
		if err != nil {
			bl.warnRecord(rec, err)
			return
		}
		b.Media = append(b.Media, store.MediaEntry{Seq: rec.Seq, Media: m})
		bl.richBytes += len(rec.Payload)
		b.Seen(m.Time)
	}
}
