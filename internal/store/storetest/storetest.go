// Package storetest is the conformance suite of store.Store: every
// implementation runs it, so that views behave the same on any of them.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Open returns a new, empty store for one test.
type Open func(t *testing.T) store.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PointsRoundTrip", testPointsRoundTrip},
		{"IncrementalEqualsBulk", testIncrementalEqualsBulk},
		{"StaleCursorConflicts", testStaleCursorConflicts},
		{"OutOfOrderSteps", testOutOfOrderSteps},
		{"Rewind", testRewind},
		{"ResumeActiveTime", testResumeActiveTime},
		{"RunFields", testRunFields},
		{"ArtifactsEvents", testArtifactsEvents},
		{"RunsFilter", testRunsFilter},
		{"RunsWhere", testRunsWhere},
		{"Resolve", testResolve},
		{"DeleteRun", testDeleteRun},
		{"KeyIDs", testKeyIDs},
		{"Streams", testStreams},
		{"Annotations", testAnnotations},
		{"AttachedDefaults", testAttachedDefaults},
		{"FindSeries", testFindSeries},
		{"FirstSeries", testFirstSeries},
		{"ManyKeysInOneBatch", testManyKeysInOneBatch},
		{"Media", testMedia},
		{"Overview", testOverview},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var ctx = context.Background()

// T0 is the start time of the runs the suite writes, unix seconds.
const T0 = 1764201600.0

// writer writes batches for one stream of a run, keeping its cursor.
type writer struct {
	t      *testing.T
	s      store.Store
	id     string
	stream string
	cur    store.Cursor
}

func newWriter(t *testing.T, s store.Store, id string) *writer {
	return &writer{t: t, s: s, id: id}
}

// write applies a batch built by fill, advancing the cursor by one record.
func (w *writer) write(fill func(b *store.Batch)) {
	w.t.Helper()
	b := &store.Batch{RunID: w.id, Stream: w.stream, Prev: w.cur}
	fill(b)
	b.Next = store.Cursor{Seq: w.cur.Seq + 1, Offset: w.cur.Offset + 100}
	if err := w.s.Write(ctx, b); err != nil {
		w.t.Fatalf("Write: %v", err)
	}
	w.cur = b.Next
}

func (w *writer) header(name, project string, tags ...string) {
	w.write(func(b *store.Batch) {
		b.Header = &runfmt.Header{Format: 1, ID: w.id, Name: name, Project: project, Tags: tags, Time: T0}
		b.Last = T0
	})
}

func (w *writer) points(key string, p series.Points) {
	w.write(func(b *store.Batch) {
		b.Points = map[string]*series.Points{key: &p}
		if n := p.Len(); n > 0 {
			b.Last = float64(p.Times[n-1]) / 1000
		}
	})
}

// ramp returns n points from step first on, one per second from T0+step,
// with values f(step).
func ramp(first, n int64, f func(step int64) float64) series.Points {
	var p series.Points
	for s := first; s < first+n; s++ {
		p.Append(s, int64(T0*1000)+s*1000, f(s))
	}
	return p
}

func samePoints(t *testing.T, got, want series.Points) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%d points, want %d", got.Len(), want.Len())
	}
	for i := range want.Steps {
		if got.Steps[i] != want.Steps[i] || got.Times[i] != want.Times[i] ||
			math.Float64bits(got.Values[i]) != math.Float64bits(want.Values[i]) {
			t.Fatalf("point %d = %v, want %v", i, got.At(i), want.At(i))
		}
	}
}

func testPointsRoundTrip(t *testing.T, s store.Store) {
	w := newWriter(t, s, "run1")
	w.header("a", "p")
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.Float64frombits(0x7FF8000000000123), 5e-324, math.MaxFloat64}
	want := ramp(0, 10_000, func(s int64) float64 {
		if s%1000 == 7 {
			return special[(s/1000)%int64(len(special))]
		}
		return float64(float32(3 * math.Exp(-float64(s)/3000)))
	})
	w.points("train/loss ünï", want)
	got, err := s.Points(ctx, "run1", "train/loss ünï", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	samePoints(t, got, want)

	ser, err := s.Series(ctx, "run1")
	if err != nil || len(ser) != 1 {
		t.Fatalf("Series = %v, %v", ser, err)
	}
	var st series.Stats
	st.AddPoints(want)
	if got := ser[0].Stats; got.Count != 10_000 || got.NaN != st.NaN || got.Inf != st.Inf ||
		got.First != st.First || got.Last.Step != 9999 || got.Min.Value != math.Inf(-1) || got.Max.Value != math.Inf(1) ||
		math.Abs(got.Mean()-st.Mean()) > 1e-12 {
		t.Errorf("stats = %+v, want %+v", got, st)
	}
	if _, err := s.Points(ctx, "run1", "nope", store.PointsOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing series: %v, want ErrNotFound", err)
	}
}

// testIncrementalEqualsBulk writes a series in many small batches, as a live
// run is indexed, and in one batch, and expects the same.
func testIncrementalEqualsBulk(t *testing.T, s store.Store) {
	all := ramp(0, 9_001, func(s int64) float64 { return math.Sin(float64(s) / 100) })
	bulk := newWriter(t, s, "bulk")
	bulk.header("bulk", "p")
	bulk.points("loss", all)
	live := newWriter(t, s, "live")
	live.header("live", "p")
	for i := 0; i < all.Len(); i += 97 {
		live.points("loss", all.Slice(i, min(i+97, all.Len())))
	}
	for _, id := range []string{"bulk", "live"} {
		got, err := s.Points(ctx, id, "loss", store.PointsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		samePoints(t, got, all)
	}
	a, _ := s.Series(ctx, "bulk")
	b, _ := s.Series(ctx, "live")
	if !reflect.DeepEqual(a, b) {
		t.Errorf("stats differ:\nbulk %+v\nlive %+v", a, b)
	}
	r, _ := s.Run(ctx, "live")
	if r.MaxStep != 9000 {
		t.Errorf("MaxStep = %d, want 9000", r.MaxStep)
	}
}

func testStaleCursorConflicts(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	w.points("loss", ramp(0, 10, func(int64) float64 { return 1 }))
	stale := &store.Batch{RunID: "r", Prev: store.Cursor{Seq: 1, Offset: 100}, Next: store.Cursor{Seq: 2, Offset: 200}}
	p := ramp(0, 10, func(int64) float64 { return 1 })
	stale.Points = map[string]*series.Points{"loss": &p}
	if err := s.Write(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale batch: %v, want ErrConflict", err)
	}
	fresh := &store.Batch{RunID: "new", Prev: store.Cursor{Seq: 3}}
	if err := s.Write(ctx, fresh); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("batch for an unknown run with a cursor: %v, want ErrConflict", err)
	}
	got, _ := s.Points(ctx, "r", "loss", store.PointsOptions{})
	if got.Len() != 10 {
		t.Fatalf("%d points after a refused batch, want 10", got.Len())
	}
	c, _ := s.Cursors(ctx)
	if c["r"][store.PrimaryStream] != w.cur {
		t.Errorf("cursor %+v, want %+v", c["r"], w.cur)
	}
}

func testOutOfOrderSteps(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	var p series.Points
	for i, st := range []int64{5, 3, 3, 9, 0, 5} {
		p.Append(st, int64(T0*1000)+int64(i), float64(i))
	}
	w.points("loss", p)
	got, err := s.Points(ctx, "r", "loss", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Step order; equal steps keep the order they were logged in.
	wantSteps, wantVals := []int64{0, 3, 3, 5, 5, 9}, []float64{4, 1, 2, 0, 5, 3}
	if !reflect.DeepEqual(got.Steps, wantSteps) || !reflect.DeepEqual(got.Values, wantVals) {
		t.Errorf("points %v %v, want %v %v", got.Steps, got.Values, wantSteps, wantVals)
	}
	ser, _ := s.Series(ctx, "r")
	st := ser[0].Stats
	if st.Ordered || st.First.Step != 0 || st.First.Value != 4 || st.Last.Step != 9 || st.Last.Value != 3 {
		t.Errorf("stats %+v: want unordered, first (0, 4), last (9, 3)", st)
	}
}

func testRewind(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	w.points("loss", ramp(0, 6000, func(s int64) float64 { return float64(s) }))
	w.points("val_loss", ramp(0, 6000, func(s int64) float64 { return -float64(s) }))
	w.write(func(b *store.Batch) { b.Rewind = &runfmt.Rewind{Time: T0 + 7000, Step: 4999} })
	w.points("loss", ramp(5000, 10, func(s int64) float64 { return 0.5 }))

	got, err := s.Points(ctx, "r", "loss", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 5010 || got.Steps[4999] != 4999 || got.Steps[5000] != 5000 || got.Values[5000] != 0.5 {
		t.Fatalf("after rewind: %d points, steps around the rewind %v", got.Len(), got.Steps[4995:min(5005, got.Len())])
	}
	all, _ := s.Points(ctx, "r", "loss", store.PointsOptions{Superseded: true})
	if all.Len() != 6010 {
		t.Errorf("with superseded points: %d, want 6010", all.Len())
	}
	ser, _ := s.Series(ctx, "r")
	for _, sr := range ser {
		st := sr.Stats
		switch sr.Key {
		case "loss":
			if st.Count != 5010 || st.Last.Step != 5009 || st.Max.Value != 4999 || st.Min.Value != 0 {
				t.Errorf("loss stats after rewind %+v", st)
			}
		case "val_loss":
			if st.Count != 5000 || st.Last.Step != 4999 || st.Min.Value != -4999 {
				t.Errorf("val_loss stats after rewind %+v", st)
			}
		}
	}
	if r, _ := s.Run(ctx, "r"); r.MaxStep != 5009 {
		t.Errorf("MaxStep = %d, want 5009", r.MaxStep)
	}
}

func testResumeActiveTime(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	w.points("loss", ramp(0, 41, func(int64) float64 { return 1 })) // T0 .. T0+40
	w.write(func(b *store.Batch) {
		b.Resume = &runfmt.Resume{Time: T0 + 3600}
		b.Last = T0 + 3600
	})
	w.write(func(b *store.Batch) { b.Last = T0 + 3640 })
	r, err := s.Run(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if r.Active != 80 || r.Wallclock() != 3640 || r.Segments != 2 {
		t.Errorf("active %v, wallclock %v, segments %d; want 80, 3640, 2", r.Active, r.Wallclock(), r.Segments)
	}
	segs, _ := s.Segments(ctx, "r")
	want := []store.Segment{{Start: T0, Last: T0 + 40}, {Start: T0 + 3600, Last: T0 + 3640}}
	if !reflect.DeepEqual(segs, want) {
		t.Errorf("segments %v, want %v", segs, want)
	}
}

func testRunFields(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.write(func(b *store.Batch) {
		b.Header = &runfmt.Header{ID: "r", Name: "n", Project: "p", Group: "g", Tags: []string{"x", "y"},
			Notes: "notes", Hypothesis: "h", Time: T0, Host: "box", User: "ada", Command: []string{"python", "train.py"},
			Dir: "/work", Git: &runfmt.Git{Commit: "abc", Dirty: true}, Env: map[string]string{"torch": "2.5"}}
		b.Config = json.RawMessage(`{"lr":0.001,"model":{"d":64}}`)
		b.Summary = map[string]json.RawMessage{"a": json.RawMessage(`1`), "b": json.RawMessage(`"x"`)}
		b.Defines = map[string]string{"val_acc": runfmt.GoalMaximize}
	})
	w.write(func(b *store.Batch) {
		b.Config = json.RawMessage(`{"lr":0.002}`)
		b.Summary = map[string]json.RawMessage{"a": json.RawMessage(`null`), "c": json.RawMessage(`"NaN"`)}
		code := 3
		b.Status = &runfmt.Status{Status: runfmt.StatusFailed, Time: T0 + 50, ExitCode: &code, Error: "boom"}
	})
	r, err := s.Run(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Run{ID: "r", Name: "n", Project: "p", Group: "g", Tags: []string{"x", "y"}, Notes: "notes",
		Hypothesis: "h", Status: "failed", Error: "boom", Start: T0, End: T0 + 50, Last: T0 + 50, Host: "box",
		User: "ada", Command: []string{"python", "train.py"}, Dir: "/work", Git: &runfmt.Git{Commit: "abc", Dirty: true},
		Env: map[string]string{"torch": "2.5"}, Config: json.RawMessage(`{"lr":0.002}`),
		Summary: json.RawMessage(`{"b":"x","c":"NaN"}`), MaxStep: -1, Active: 50, Segments: 1}
	code := 3
	want.ExitCode = &code
	if !reflect.DeepEqual(r, want) {
		t.Errorf("run\n got %+v\nwant %+v", r, want)
	}
	ser, _ := s.Series(ctx, "r")
	if len(ser) != 1 || ser[0].Key != "val_acc" || ser[0].Goal != runfmt.GoalMaximize {
		t.Errorf("declared series %+v", ser)
	}
}

func testArtifactsEvents(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	step := int64(100)
	w.write(func(b *store.Batch) {
		b.Arts = []store.Artifact{
			{Seq: 5, Artifact: runfmt.Artifact{Path: "checkpoints/a.pt", Kind: "checkpoint", Step: &step, Time: T0 + 1, Size: 10, SHA256: "ab", Metadata: map[string]any{"val_loss": math.NaN()}}},
			{Seq: 6, Artifact: runfmt.Artifact{Path: "artifacts/b", Kind: "file", Time: T0 + 2, Size: 3}},
		}
		b.Events = []store.Event{{Seq: 7, Event: runfmt.Event{Kind: "alert", Time: T0 + 3, Step: &step, Level: "error", Title: "NaN", Text: "loss is NaN"}}}
	})
	arts, err := s.Artifacts(ctx, "r")
	if err != nil || len(arts) != 2 {
		t.Fatalf("Artifacts = %v, %v", arts, err)
	}
	if a := arts[0]; a.Path != "checkpoints/a.pt" || *a.Step != 100 || a.Size != 10 || !math.IsNaN(a.Metadata["val_loss"].(float64)) {
		t.Errorf("artifact %+v", a)
	}
	if arts[1].Step != nil || arts[1].Metadata != nil {
		t.Errorf("artifact without step or metadata: %+v", arts[1])
	}
	evs, err := s.Events(ctx, "r")
	if err != nil || len(evs) != 1 || evs[0].Title != "NaN" || *evs[0].Step != 100 || evs[0].Level != "error" {
		t.Errorf("Events = %+v, %v", evs, err)
	}
}

func testRunsFilter(t *testing.T, s store.Store) {
	for i, r := range []struct{ id, name, project, status string }{
		{"a1", "baseline", "lm", "finished"},
		{"b2", "high lr", "lm", "failed"},
		{"c3", "baseline", "vision", "running"},
	} {
		w := newWriter(t, s, r.id)
		w.write(func(b *store.Batch) {
			b.Header = &runfmt.Header{ID: r.id, Name: r.name, Project: r.project, Tags: []string{"t" + fmt.Sprint(i)}, Time: T0 + float64(i)}
			b.Status = &runfmt.Status{Status: r.status, Time: T0 + 10}
		})
		w.points("train_loss", ramp(0, 3, func(s int64) float64 { return float64(10*i) + float64(s) }))
		w.points("loss", ramp(0, 3, func(s int64) float64 { return 99 }))
		if r.id == "b2" {
			w.points("val/loss", ramp(0, 2, func(int64) float64 { return 7 }))
		}
	}
	yes := true
	cli := &writer{t: t, s: s, id: "c3", stream: "run.cli.log"}
	cli.write(func(b *store.Batch) { b.Annotations = []runfmt.Annotate{{Time: T0 + 20, Archived: &yes}} })
	tests := []struct {
		f    store.Filter
		want []string
	}{
		{store.Filter{}, []string{"c3", "b2", "a1"}},
		{store.Filter{Project: "lm"}, []string{"b2", "a1"}},
		{store.Filter{Status: "failed"}, []string{"b2"}},
		{store.Filter{Tag: "t2"}, []string{"c3"}},
		{store.Filter{Name: "BASE"}, []string{"c3", "a1"}},
		{store.Filter{Limit: 1}, []string{"c3"}},
		{store.Filter{Project: "none"}, nil},
		{store.Filter{Archived: store.AnyArchived}, []string{"c3", "b2", "a1"}},
		{store.Filter{Archived: store.NotArchived}, []string{"b2", "a1"}},
		{store.Filter{Archived: store.OnlyArchived}, []string{"c3"}},
		{store.Filter{Archived: store.NotArchived, Limit: 1}, []string{"b2"}},
		{store.Filter{Archived: store.NotArchived, Project: "vision"}, nil},
		{store.Filter{Archived: store.OnlyArchived, Name: "base", Brief: true}, []string{"c3"}},
		{store.Filter{Archived: store.OnlyArchived, Project: "lm"}, nil},
	}
	for _, tt := range tests {
		runs, err := s.Runs(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("Runs(%+v) = %v, want %v", tt.f, ids, tt.want)
		}
	}
	for _, brief := range []bool{false, true} {
		runs, _ := s.Runs(ctx, store.Filter{Status: "failed", Brief: brief})
		r := runs[0]
		if r.TrainLoss == nil || r.TrainLoss.Value != 12 || r.ValLoss == nil || r.ValLoss.Value != 7 {
			t.Errorf("brief %v: losses of b2: train %v val %v, want 12 (train_loss preferred over loss) and 7", brief, r.TrainLoss, r.ValLoss)
		}
		if r.Name != "high lr" || r.Project != "lm" || r.Status != "failed" || r.MaxStep != 2 || r.Start != T0+1 || r.Last != T0+10 {
			t.Errorf("brief %v: run %+v", brief, r)
		}
		if !brief && (len(r.Tags) != 1 || r.Tags[0] != "t1") {
			t.Errorf("tags %v, want [t1]", r.Tags)
		}
		if r.Archived {
			t.Errorf("brief %v: b2 is archived", brief)
		}
		runs, _ = s.Runs(ctx, store.Filter{Archived: store.OnlyArchived, Brief: brief})
		if len(runs) != 1 || !runs[0].Archived {
			t.Errorf("brief %v: archived runs %+v, want c3 with Archived set", brief, runs)
		}
	}
	if r, _ := s.Run(ctx, "c3"); !r.Archived {
		t.Error("Run(c3).Archived = false")
	}
}

func testResolve(t *testing.T, s store.Store) {
	for _, r := range []struct{ id, name string }{{"abc123", "base"}, {"abd456", "dup"}, {"xyz789", "dup"}} {
		w := newWriter(t, s, r.id)
		w.header(r.name, "p")
	}
	tests := []struct {
		ref  string
		want string
		err  error
	}{
		{"abc123", "abc123", nil},
		{"abc", "abc123", nil},
		{"x", "xyz789", nil},
		{"base", "abc123", nil},
		{"ab", "", store.ErrAmbiguous},
		{"dup", "", store.ErrAmbiguous},
		{"nothing", "", store.ErrNotFound},
		{"", "", store.ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.Resolve(ctx, tt.ref)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.ref, got, err, tt.want, tt.err)
		}
	}
}

func testDeleteRun(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	w.points("loss", ramp(0, 5000, func(int64) float64 { return 1 }))
	if err := s.DeleteRun(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted run: %v, want ErrNotFound", err)
	}
	if ser, _ := s.Series(ctx, "r"); len(ser) != 0 {
		t.Errorf("deleted run still has series %v", ser)
	}
	c, _ := s.Cursors(ctx)
	if _, ok := c["r"]; ok {
		t.Error("deleted run still has a cursor")
	}
	// Indexed again from scratch, it is whole.
	w = newWriter(t, s, "r")
	w.header("r", "p")
	w.points("loss", ramp(0, 10, func(int64) float64 { return 2 }))
	if got, _ := s.Points(ctx, "r", "loss", store.PointsOptions{}); got.Len() != 10 {
		t.Errorf("re-added run has %d points, want 10", got.Len())
	}
}

func testKeyIDs(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.write(func(b *store.Batch) { b.KeyIDs = map[uint32]string{0: "loss", 7: "val/ünï"} })
	w.write(func(b *store.Batch) { b.KeyIDs = map[uint32]string{1: "lr"} })
	got, err := s.KeyIDs(ctx, "r", store.PrimaryStream)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[uint32]string{0: "loss", 1: "lr", 7: "val/ünï"}; !reflect.DeepEqual(got, want) {
		t.Errorf("KeyIDs = %v, want %v", got, want)
	}
}

// testStreams writes one run from two streams, as a runner and the training
// script it started do: each stream has its own cursor and key ids, their
// points, artifacts and events all belong to the run, and the latest status
// wins whichever stream is written last.
func testStreams(t *testing.T, s store.Store) {
	main := newWriter(t, s, "r")
	attached := &writer{t: t, s: s, id: "r", stream: "run.py-42-1.log"}
	attached.write(func(b *store.Batch) { // the attached stream may be indexed first
		b.KeyIDs = map[uint32]string{0: "train_loss"}
		b.Arts = []store.Artifact{{Seq: 3, Artifact: runfmt.Artifact{Path: "checkpoints/a", Kind: "checkpoint", Time: T0 + 5}}}
		code := 0
		b.Status = &runfmt.Status{Status: runfmt.StatusFinished, Time: T0 + 90, ExitCode: &code}
	})
	attached.points("train_loss", ramp(0, 50, func(s int64) float64 { return float64(s) }))
	main.header("runner", "p")
	main.write(func(b *store.Batch) {
		b.KeyIDs = map[uint32]string{0: "sys/cpu"}
		b.Arts = []store.Artifact{{Seq: 3, Artifact: runfmt.Artifact{Path: "artifacts/diff.patch", Kind: "file", Time: T0 + 1}}}
	})
	main.points("sys/cpu", ramp(0, 10, func(int64) float64 { return 50 }))
	main.write(func(b *store.Batch) {
		code := 0
		b.Status = &runfmt.Status{Status: runfmt.StatusRunning, Time: T0 + 60, ExitCode: &code}
	})
	r, err := s.Run(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "runner" || r.Status != runfmt.StatusFinished || r.MaxStep != 49 || r.TrainLoss == nil || r.TrainLoss.Value != 49 {
		t.Errorf("run %+v: want the runner's name, the later status (finished), step 49 and the attached stream's loss", r)
	}
	ser, _ := s.Series(ctx, "r")
	if len(ser) != 2 {
		t.Errorf("series %v, want train_loss and sys/cpu", ser)
	}
	arts, _ := s.Artifacts(ctx, "r")
	if len(arts) != 2 || arts[0].Path != "artifacts/diff.patch" {
		t.Errorf("artifacts %+v: want both, with the same seq in different streams, by time", arts)
	}
	cur, _ := s.Cursors(ctx)
	if len(cur["r"]) != 2 || cur["r"][store.PrimaryStream] != main.cur || cur["r"]["run.py-42-1.log"] != attached.cur {
		t.Errorf("cursors %v", cur["r"])
	}
	k1, _ := s.KeyIDs(ctx, "r", store.PrimaryStream)
	k2, _ := s.KeyIDs(ctx, "r", "run.py-42-1.log")
	if k1[0] != "sys/cpu" || k2[0] != "train_loss" {
		t.Errorf("key ids %v and %v", k1, k2)
	}
}

// testAnnotations changes a run's tags, notes and hypothesis after it was
// written, as runlog tag and runlog note do.
func testAnnotations(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p", "baseline", "old")
	w.write(func(b *store.Batch) { b.Last = T0 + 10 })
	notes, hyp := "first thoughts", "lr matters"
	cli := &writer{t: t, s: s, id: "r", stream: "run.cli.log"}
	cli.write(func(b *store.Batch) {
		b.Annotations = []runfmt.Annotate{
			{Time: T0 + 5000, Notes: &notes, AddTags: []string{"best"}, RemoveTags: []string{"old"}},
			{Time: T0 + 6000, Note: "diverged after step 900", Hypothesis: &hyp, AddTags: []string{"best"}},
		}
	})
	r, err := s.Run(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Tags, ",") != "baseline,best" || r.Notes != "first thoughts\n\ndiverged after step 900" || r.Hypothesis != "lr matters" {
		t.Errorf("tags %v, notes %q, hypothesis %q", r.Tags, r.Notes, r.Hypothesis)
	}
	if r.Last != T0+10 {
		t.Errorf("last record %v: annotating a run is not activity of the run", r.Last)
	}
	if runs, _ := s.Runs(ctx, store.Filter{Tag: "best"}); len(runs) != 1 {
		t.Errorf("Runs(tag best) = %d runs", len(runs))
	}

	// Renaming and archiving: the last word wins, an empty name changes
	// nothing, and neither is activity of the run.
	yes, no := true, false
	cli.write(func(b *store.Batch) {
		b.Annotations = []runfmt.Annotate{
			{Time: T0 + 7000, Name: "first-name", Archived: &yes},
			{Time: T0 + 7001, Name: "renamed"},
			{Time: T0 + 7002, AddTags: []string{"x"}},
		}
	})
	r, _ = s.Run(ctx, "r")
	if r.Name != "renamed" || !r.Archived || r.Last != T0+10 || strings.Join(r.Tags, ",") != "baseline,best,x" {
		t.Errorf("after rename and archive: name %q, archived %v, last %v, tags %v", r.Name, r.Archived, r.Last, r.Tags)
	}
	if id, err := s.Resolve(ctx, "renamed"); err != nil || id != "r" {
		t.Errorf("Resolve(renamed) = %q, %v", id, err)
	}
	cli.write(func(b *store.Batch) { b.Annotations = []runfmt.Annotate{{Time: T0 + 8000, Archived: &no}} })
	r, _ = s.Run(ctx, "r")
	if r.Name != "renamed" || r.Archived {
		t.Errorf("after unarchive: name %q, archived %v", r.Name, r.Archived)
	}
}

// testAttachedDefaults names a run from an attached log's header where the
// run's own header said nothing.
func testAttachedDefaults(t *testing.T, s store.Store) {
	main := newWriter(t, s, "r")
	main.write(func(b *store.Batch) {
		b.Header = &runfmt.Header{ID: "r", Project: "default", Notes: "from the runner", Time: T0}
	})
	script := &writer{t: t, s: s, id: "r", stream: "run.py-1-1.log"}
	script.write(func(b *store.Batch) {
		b.Defaults = &runfmt.Header{ID: "r", Attach: true, Name: "from-script", Project: "lm", Tags: []string{"x"},
			Notes: "from the script", Hypothesis: "h", Time: T0 + 1}
	})
	r, _ := s.Run(ctx, "r")
	if r.Name != "from-script" || r.Project != "lm" || len(r.Tags) != 1 || r.Notes != "from the runner" || r.Hypothesis != "h" || r.Start != T0 {
		t.Errorf("run %+v: the script fills what the runner left empty, and nothing else", r)
	}
}

func testFindSeries(t *testing.T, s store.Store) {
	w := newWriter(t, s, "run1")
	w.header("a", "p")
	keys := []string{"Val/Loss", "lr", "train_loss", "val/acc", "val/loss", "x%_y"}
	w.write(func(b *store.Batch) {
		b.Points = map[string]*series.Points{}
		for i, k := range keys {
			p := ramp(0, int64(i+1), func(step int64) float64 { return float64(step) })
			b.Points[k] = &p
		}
	})
	other := newWriter(t, s, "run2")
	other.header("b", "p")
	other.points("val/other", ramp(0, 3, func(int64) float64 { return 1 }))

	tests := []struct {
		name string
		q    store.SeriesQuery
		want []string
		more bool
	}{
		{"all", store.SeriesQuery{}, keys, false},
		{"page", store.SeriesQuery{Limit: 2}, keys[:2], true},
		{"next page", store.SeriesQuery{After: "lr", Limit: 2}, keys[2:4], true},
		{"last page", store.SeriesQuery{After: "val/acc", Limit: 2}, keys[4:], false},
		{"contains ignores case", store.SeriesQuery{Contains: "VAL/"}, []string{"Val/Loss", "val/acc", "val/loss"}, false},
		{"contains a LIKE wildcard literally", store.SeriesQuery{Contains: "%"}, []string{"x%_y"}, false},
		{"keys", store.SeriesQuery{Keys: []string{"lr", "nope", "val/loss"}}, []string{"lr", "val/loss"}, false},
		{"keys of another run are not this run's", store.SeriesQuery{Keys: []string{"val/other"}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := s.FindSeries(ctx, "run1", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sr := range got {
				names = append(names, sr.Key)
			}
			if !slices.Equal(names, tt.want) || more != tt.more {
				t.Errorf("FindSeries(%+v) = %q, more %v; want %q, more %v", tt.q, names, more, tt.want, tt.more)
			}
		})
	}
	got, _, err := s.FindSeries(ctx, "run1", store.SeriesQuery{Keys: []string{"val/loss"}})
	if err != nil || len(got) != 1 || got[0].Stats.Count != 5 || got[0].Stats.Last.Step != 4 {
		t.Errorf("statistics of val/loss = %+v, %v; want 5 points up to step 4", got, err)
	}
}

// testManyKeysInOneBatch writes a batch of many new series and one that
// adds to series already stored, and reads every point back.
func testManyKeysInOneBatch(t *testing.T, s store.Store) {
	w := newWriter(t, s, "run1")
	w.header("a", "p")
	const n = 3000
	key := func(i int) string { return fmt.Sprintf("layer%04d/grad_norm", i) }
	for round := range 2 {
		w.write(func(b *store.Batch) {
			b.Points = map[string]*series.Points{}
			for i := range n {
				p := ramp(int64(round), 1, func(step int64) float64 { return float64(i) + float64(step)/10 })
				b.Points[key(i)] = &p
			}
		})
	}
	all, err := s.Series(ctx, "run1")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("%d series, want %d", len(all), n)
	}
	for _, i := range []int{0, 1234, n - 1} {
		pts, err := s.Points(ctx, "run1", key(i), store.PointsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := ramp(0, 2, func(step int64) float64 { return float64(i) + float64(step)/10 })
		samePoints(t, pts, want)
	}
}

func testFirstSeries(t *testing.T, s store.Store) {
	for run, n := range map[string]int{"a": 5, "b": 2, "c": 0} {
		w := newWriter(t, s, run)
		w.header(run, "p")
		for i := range n {
			w.points(fmt.Sprintf("k%d", n-1-i), ramp(0, int64(i+1), func(step int64) float64 { return float64(step) }))
		}
	}
	first, more, err := s.FirstSeries(ctx, []string{"a", "b", "c", "nope"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(id string) []string {
		var out []string
		for _, sr := range first[id] {
			out = append(out, sr.Key)
		}
		return out
	}
	if got := keys("a"); !slices.Equal(got, []string{"k0", "k1", "k2"}) || !more["a"] {
		t.Errorf("run a: %q, more %v; want k0 k1 k2 and more", got, more["a"])
	}
	if got := keys("b"); !slices.Equal(got, []string{"k0", "k1"}) || more["b"] {
		t.Errorf("run b: %q, more %v; want k0 k1 and no more", got, more["b"])
	}
	if len(first["c"]) != 0 || len(first["nope"]) != 0 || more["c"] {
		t.Errorf("runs without series: %v %v", first["c"], first["nope"])
	}
	if a := first["a"]; len(a) > 0 && a[0].Stats.Count != 5 {
		t.Errorf("k0 of run a has %d points, want 5", a[0].Stats.Count)
	}
}

// testOverview checks Overview against the points it summarizes, for
// series written in one batch and live, rewound, logged out of step
// order, with non-finite values, over step ranges that cut chunks or
// hold nothing.
func testOverview(t *testing.T, s store.Store) {
	wave := func(st int64) float64 {
		switch st % 997 {
		case 5:
			return math.NaN()
		case 6:
			return math.Inf(1)
		case 300:
			return 50 // a spike
		}
		return math.Sin(float64(st)/300) + 2
	}
	all := ramp(0, 20_001, wave)
	bulk := newWriter(t, s, "bulk")
	bulk.header("bulk", "p")
	bulk.points("loss", all)
	live := newWriter(t, s, "live")
	live.header("live", "p")
	for i := 0; i < all.Len(); i += 1999 {
		live.points("loss", all.Slice(i, min(i+1999, all.Len())))
	}
	rew := newWriter(t, s, "rewound")
	rew.header("rewound", "p")
	rew.points("loss", all.Slice(0, 9000))
	rew.write(func(b *store.Batch) { b.Rewind = &runfmt.Rewind{Time: T0 + 9500, Step: 6000} })
	rew.points("loss", ramp(6001, 5000, func(st int64) float64 { return -wave(st) }))
	mixed := newWriter(t, s, "mixed")
	mixed.header("mixed", "p")
	var p series.Points
	for i := range 9000 {
		st := int64((i * 7919) % 9000) // every step once, out of order
		p.Append(st, int64(T0*1000)+int64(i), wave(st))
	}
	mixed.points("loss", p)

	for _, id := range []string{"bulk", "live", "rewound", "mixed"} {
		pts, err := s.Points(ctx, id, "loss", store.PointsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]int64{
			{math.MinInt64, math.MaxInt64}, {0, 20_000}, {1234, 15_678}, {4100, 4200},
			{5000, 7000}, {-10, -1}, {20_001, 30_000}, {8192, 8192},
		} {
			o, err := s.Overview(ctx, id, "loss", r[0], r[1])
			if err != nil {
				t.Fatalf("%s %v: %v", id, r, err)
			}
			sameOverview(t, fmt.Sprintf("%s, steps %d to %d", id, r[0], r[1]), o, pts.StepRange(r[0], r[1]))
		}
	}
	if _, err := s.Overview(ctx, "bulk", "nope", 0, 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing series: %v, want ErrNotFound", err)
	}
}

// sameOverview checks that o is an overview of want: blocks of at most
// series.OverviewBlock of its points, in order, each summarized as
// series.OverviewOf summarizes it.
func sameOverview(t *testing.T, what string, o series.Overview, want series.Points) {
	t.Helper()
	if len(o.Roles) != o.Points.Len() {
		t.Fatalf("%s: %d roles for %d kept points", what, len(o.Roles), o.Points.Len())
	}
	at, kept := 0, 0
	for k, n := range o.Sizes {
		if n < 1 || n > series.OverviewBlock || at+int(n) > want.Len() {
			t.Fatalf("%s: block %d of %d points at point %d of %d", what, k, n, at, want.Len())
		}
		w := series.OverviewOf(want.Slice(at, at+int(n)))
		end := kept + len(w.Roles)
		if end > len(o.Roles) || !slices.Equal(o.Roles[kept:end], w.Roles) {
			t.Fatalf("%s: block %d (points %d to %d): roles differ", what, k, at, at+int(n)-1)
		}
		samePoints(t, o.Points.Slice(kept, end), w.Points)
		at += int(n)
		kept = end
	}
	if at != want.Len() || kept != o.Points.Len() {
		t.Fatalf("%s: blocks cover %d points (%d kept), want %d (%d kept)", what, at, kept, want.Len(), o.Points.Len())
	}
}
