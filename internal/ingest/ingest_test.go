package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

var ctx = context.Background()

func openStore(t *testing.T, home string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(home, "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// homeWith makes a home holding the given run.log bytes as run id.
func homeWith(t *testing.T, id string, data []byte) string {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "runs", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.log"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", name+".runlog"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// snapshot is everything a store says about one run, for comparisons.
type snapshot struct {
	Run    store.Run
	Series []store.Series
	Points map[string]series.Points
	Arts   []store.Artifact
	Events []store.Event
}

func snap(t *testing.T, st store.Store, id string) snapshot {
	t.Helper()
	var s snapshot
	var err error
	if s.Run, err = st.Run(ctx, id); err != nil {
		t.Fatal(err)
	}
	s.Series, _ = st.Series(ctx, id)
	s.Points = map[string]series.Points{}
	for _, sr := range s.Series {
		s.Points[sr.Key], _ = st.Points(ctx, id, sr.Key, store.PointsOptions{Superseded: true})
	}
	s.Arts, _ = st.Artifacts(ctx, id)
	s.Events, _ = st.Events(ctx, id)
	return s
}

// diff describes the first difference between two snapshots, comparing
// floats by their bits so that NaN equals NaN.
func (s snapshot) diff(o snapshot) string {
	a, b := s.Run, o.Run
	if fmt.Sprint(a.TrainLoss) != fmt.Sprint(b.TrainLoss) && (a.TrainLoss == nil) != (b.TrainLoss == nil) {
		return "train loss"
	}
	a.TrainLoss, a.ValLoss, b.TrainLoss, b.ValLoss = nil, nil, nil, nil
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("run %+v vs %+v", a, b)
	}
	if len(s.Series) != len(o.Series) {
		return fmt.Sprintf("%d vs %d series", len(s.Series), len(o.Series))
	}
	for i := range s.Series {
		x, _ := s.Series[i].Stats.MarshalBinary()
		y, _ := o.Series[i].Stats.MarshalBinary()
		if s.Series[i].Key != o.Series[i].Key || s.Series[i].Goal != o.Series[i].Goal || string(x) != string(y) {
			return fmt.Sprintf("series %+v vs %+v", s.Series[i], o.Series[i])
		}
	}
	for k, p := range s.Points {
		q := o.Points[k]
		if p.Len() != q.Len() {
			return fmt.Sprintf("%s: %d vs %d points", k, p.Len(), q.Len())
		}
		for i := range p.Steps {
			if p.Steps[i] != q.Steps[i] || p.Times[i] != q.Times[i] || math.Float64bits(p.Values[i]) != math.Float64bits(q.Values[i]) {
				return fmt.Sprintf("%s point %d: %v vs %v", k, i, p.At(i), q.At(i))
			}
		}
	}
	if !reflect.DeepEqual(s.Arts, o.Arts) || !reflect.DeepEqual(s.Events, o.Events) {
		return fmt.Sprintf("artifacts or events: %+v %+v vs %+v %+v", s.Arts, s.Events, o.Arts, o.Events)
	}
	return ""
}

func index(t *testing.T, st store.Store, home string) (ingest.Result, []error) {
	t.Helper()
	var warns []error
	res, err := ingest.Home(ctx, st, home, ingest.Options{Warn: func(err error) { warns = append(warns, err) }})
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	return res, warns
}

func TestIndexBasicFixture(t *testing.T) {
	home := homeWith(t, "k3v9x2ab", fixture(t, "basic"))
	st := openStore(t, home)
	res, warns := index(t, st, home)
	if res.Records != 18 || res.Points != 14 || len(warns) != 0 {
		t.Fatalf("indexed %d records, %d points, warnings %v; want 18, 14, none", res.Records, res.Points, warns)
	}
	s := snap(t, st, "k3v9x2ab")
	r := s.Run
	if r.Name != "baseline-17m" || r.Project != "tinystories" || r.Status != "failed" || *r.ExitCode != 1 ||
		!strings.Contains(r.Error, "FloatingPointError") || r.Git.Commit == "" || r.MaxStep != 3 || r.Start != 1764201600.5 {
		t.Errorf("run %+v", r)
	}
	loss := s.Points["train_loss"]
	if loss.Len() != 4 || !math.IsNaN(loss.Values[2]) || !math.IsInf(loss.Values[3], -1) || loss.Times[0] != 1764201600750 {
		t.Errorf("train_loss %+v", loss)
	}
	if lr := s.Points["learning_rate"]; math.Float64bits(lr.Values[2]) != math.Float64bits(math.Copysign(0, -1)) {
		t.Errorf("-0 did not survive: %v", lr.Values)
	}
	if p := s.Points["val/perplexity (ünïcode)"]; p.Len() != 1 || p.Values[0] != 190.56626845863 {
		t.Errorf("unicode key: %+v", p)
	}
	if string(r.Summary) != `{"best_seen":"NaN","final_tokens":12345,"note":"diverged at step 2"}` {
		t.Errorf("summary %s", r.Summary)
	}
	if len(s.Arts) != 1 || s.Arts[0].Metadata["val_loss"] != 5.25 || len(s.Events) != 1 || s.Events[0].Kind != "alert" {
		t.Errorf("artifacts %+v events %+v", s.Arts, s.Events)
	}
	for _, sr := range s.Series {
		if sr.Key == "val_loss" && sr.Goal != "minimize" {
			t.Errorf("val_loss goal %q", sr.Goal)
		}
	}

	// Indexing again reads nothing and changes nothing.
	res, _ = index(t, st, home)
	if res.Records != 0 || res.Indexed != 0 {
		t.Errorf("second index applied %d records", res.Records)
	}
	if diff := s.diff(snap(t, st, "k3v9x2ab")); diff != "" {
		t.Errorf("second index changed the store: %s", diff)
	}
}

func TestIndexResumeFixture(t *testing.T) {
	home := homeWith(t, "r7m2q4zz", fixture(t, "resume"))
	st := openStore(t, home)
	index(t, st, home)
	s := snap(t, st, "r7m2q4zz")
	cur, _ := st.Points(ctx, "r7m2q4zz", "train_loss", store.PointsOptions{})
	if !reflect.DeepEqual(cur.Steps, []int64{0, 1, 2, 3, 4, 5}) || !reflect.DeepEqual(cur.Values, []float64{4, 3.5, 3, 2.75, 2.5, 2}) {
		t.Errorf("current points %v %v: the points after step 2 of the first segment must be superseded", cur.Steps, cur.Values)
	}
	if all := s.Points["train_loss"]; all.Len() != 8 {
		t.Errorf("%d points with superseded ones, want 8", all.Len())
	}
	if r := s.Run; r.Active != 40+40 || r.Wallclock() != 3640 || r.Segments != 2 || r.Status != "finished" {
		t.Errorf("active %v wallclock %v segments %d status %s; want 80, 3640, 2, finished", r.Active, r.Wallclock(), r.Segments, r.Status)
	}
	var kinds []string
	for _, e := range s.Events {
		kinds = append(kinds, e.Kind)
	}
	if !reflect.DeepEqual(kinds, []string{"resumed", "rewound"}) {
		t.Errorf("events %v", kinds)
	}
}

// TestTruncatedAtEveryOffset indexes every prefix of a fixture, each as a
// run of its own, and then the whole file on top of it: every complete
// record is indexed, the command never fails, and the end result equals
// indexing the whole file at once.
func TestTruncatedAtEveryOffset(t *testing.T) {
	for _, name := range []string{"basic", "resume"} {
		data := fixture(t, name)
		want := snap(t, indexed(t, homeWith(t, "run", data)), "run")
		home := t.TempDir()
		write := func(cut int, b []byte) {
			dir := filepath.Join(home, "runs", fmt.Sprintf("cut%04d", cut))
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(filepath.Join(dir, "run.log"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for cut := range len(data) {
			write(cut, data[:cut])
		}
		st := openStore(t, home)
		if _, err := ingest.Home(ctx, st, home, ingest.Options{}); err != nil {
			t.Fatalf("%s: indexing the prefixes: %v", name, err)
		}
		for cut := range len(data) {
			write(cut, data)
		}
		if _, err := ingest.Home(ctx, st, home, ingest.Options{}); err != nil {
			t.Fatalf("%s: indexing the completed files: %v", name, err)
		}
		for cut := range len(data) {
			id := fmt.Sprintf("cut%04d", cut)
			got := snap(t, st, id)
			got.Run.ID, got.Run.Path = "run", ""
			want.Run.Path = ""
			if diff := want.diff(got); diff != "" {
				t.Fatalf("%s: indexing a prefix of %d bytes, then the rest, differs from indexing at once: %s", name, cut, diff)
			}
		}
	}
}

func indexed(t *testing.T, home string) store.Store {
	st := openStore(t, home)
	index(t, st, home)
	return st
}

func TestCorruptRecordWarns(t *testing.T) {
	data := append([]byte(nil), fixture(t, "basic")...)
	r := runfmt.NewReader(bytes.NewReader(data), "basic")
	for {
		rec, err := r.Next()
		if err != nil {
			t.Fatal("no record 8")
		}
		if rec.Seq == 8 { // a metrics record in the middle
			data[rec.Offset+rec.Size()-1] ^= 0xff
			break
		}
	}
	home := homeWith(t, "run", data)
	st := openStore(t, home)
	res, warns := index(t, st, home)
	if res.Records != 17 || len(warns) != 1 {
		t.Fatalf("%d records, warnings %v; want 17 and one warning", res.Records, warns)
	}
	var c runfmt.Corruption
	if !errors.As(warns[0], &c) || !strings.Contains(warns[0].Error(), "run.log: offset") {
		t.Errorf("warning %q does not name the file and offset", warns[0])
	}
}

func TestLiveRunIndexedIncrementally(t *testing.T) {
	home := t.TempDir()
	st := openStore(t, home)
	run, err := runlog.Init(runlog.Options{Home: home, Name: "live", FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var want series.Points
	for round := range 5 {
		for i := range 3000 {
			step := int64(round*3000 + i)
			run.LogStep(step, map[string]float64{"loss": float64(step) / 7})
			want.Append(step, 0, float64(step)/7)
		}
		// The client writes in the background: index until its points are
		// on disk, as a live view does.
		var got series.Points
		for deadline := time.Now().Add(10 * time.Second); ; {
			flush(t, run)
			index(t, st, home)
			var err error
			if got, err = st.Points(ctx, run.ID(), "loss", store.PointsOptions{}); err != nil {
				t.Fatal(err)
			}
			if got.Len() >= want.Len() || time.Now().After(deadline) {
				break
			}
		}
		if !reflect.DeepEqual(got.Values, want.Values) || !reflect.DeepEqual(got.Steps, want.Steps) {
			t.Fatalf("round %d: %d points, want %d", round, got.Len(), want.Len())
		}
		if r, _ := st.Run(ctx, run.ID()); r.Status != "running" {
			t.Fatalf("status %q while running", r.Status)
		}
	}
	run.Finish(0)
	index(t, st, home)
	if r, _ := st.Run(ctx, run.ID()); r.Status != "finished" || r.MaxStep != 14999 {
		t.Errorf("after finish: status %q, max step %d", r.Status, r.MaxStep)
	}
}

// flush waits until the run's writer has written everything logged so far.
func flush(t *testing.T, run *runlog.Run) {
	t.Helper()
	path := filepath.Join(run.Dir(), "run.log")
	var last int64 = -1
	for range 200 {
		fi, _ := os.Stat(path)
		if fi.Size() == last {
			return
		}
		last = fi.Size()
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRemovedFolderLeavesStore(t *testing.T) {
	home := homeWith(t, "gone", fixture(t, "basic"))
	st := openStore(t, home)
	index(t, st, home)
	os.RemoveAll(filepath.Join(home, "runs", "gone"))
	res, _ := index(t, st, home)
	if _, err := st.Run(ctx, "gone"); res.Removed != 1 || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removed %d, Run: %v", res.Removed, err)
	}
}

// TestTwoProcessesIndexAtOnce runs two processes indexing the same home at
// the same time: no duplicate points, and no "database is locked".
func TestTwoProcessesIndexAtOnce(t *testing.T) {
	if os.Getenv("RUNLOG_TEST_CHILD") == "index" {
		db, err := sqlite.Open(filepath.Join(os.Getenv("RUNLOG_HOME"), "runlog.db"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "open:", err)
			os.Exit(2)
		}
		if _, err := ingest.Home(ctx, db, os.Getenv("RUNLOG_HOME"), ingest.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, "index:", err)
			os.Exit(3)
		}
		db.Close()
		os.Exit(0)
	}
	home := t.TempDir()
	const runs, steps = 12, 40_000
	for i := range runs {
		run, err := runlog.Init(runlog.Options{Home: home, Name: fmt.Sprint("r", i)})
		if err != nil {
			t.Fatal(err)
		}
		for s := range steps {
			run.Log(map[string]float64{"loss": float64(s), "lr": 1e-3})
		}
		run.Finish(0)
	}
	var wg sync.WaitGroup
	outs := make([][]byte, 3)
	errs := make([]error, 3)
	for p := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesIndexAtOnce$")
			cmd.Env = append(os.Environ(), "RUNLOG_TEST_CHILD=index", "RUNLOG_HOME="+home)
			outs[p], errs[p] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for p := range outs {
		if errs[p] != nil || strings.Contains(string(outs[p]), "locked") {
			t.Fatalf("process %d: %v\n%s", p, errs[p], outs[p])
		}
	}
	st := openStore(t, home)
	all, _ := st.Runs(ctx, store.Filter{})
	if len(all) != runs {
		t.Fatalf("%d runs, want %d", len(all), runs)
	}
	for _, r := range all {
		for _, key := range []string{"loss", "lr"} {
			p, err := st.Points(ctx, r.ID, key, store.PointsOptions{Superseded: true})
			if err != nil || p.Len() != steps {
				t.Fatalf("run %s %s: %d points (%v), want %d", r.ID, key, p.Len(), err, steps)
			}
		}
	}
}

// TestBadRecordsSkipped indexes a run.log whose records pass their checksum
// but break the rules — a short metrics payload, an undefined key id, a bad time,
// JSON that does not parse — written by a faulty writer: each is skipped
// with a warning and the good records around them are indexed.
func TestBadRecordsSkipped(t *testing.T) {
	l := runfmttest.New(runfmt.Header{ID: "bad", Time: 1764201600})
	loss := l.Key("loss")
	l.Pairs(0, 1764201601, []uint32{loss}, []float64{1}).
		Record(runfmt.TypeMetrics, []byte{1, 2, 3}).                // short payload
		Pairs(1, 1764201603, []uint32{loss, 9}, []float64{3, 4}).   // key 9 undefined
		Pairs(2, math.NaN(), []uint32{loss}, []float64{5}).         // no time
		Record(runfmt.TypeSummary, []byte(`{"a": `)).               // bad JSON
		Record(runfmt.TypeStatus, []byte(`{"status":"exploded"}`)). // unknown status
		Record(99, []byte("from the future")).                      // unknown type
		Pairs(3, 1764201604, []uint32{loss}, []float64{6})
	home := homeWith(t, "bad", l.Bytes())
	st := openStore(t, home)
	_, warns := index(t, st, home)
	if len(warns) != 5 {
		t.Errorf("%d warnings, want 5 (short payload, undefined key, bad time, bad JSON, unknown status):\n%v", len(warns), warns)
	}
	for _, w := range warns {
		if !strings.Contains(w.Error(), "run.log: offset") {
			t.Errorf("warning %q does not name the file and offset", w)
		}
	}
	p, _ := st.Points(ctx, "bad", "loss", store.PointsOptions{})
	if !reflect.DeepEqual(p.Steps, []int64{0, 1, 3}) || !reflect.DeepEqual(p.Values, []float64{1, 3, 6}) {
		t.Errorf("points %v %v, want steps 0 1 3 with values 1 3 6", p.Steps, p.Values)
	}
	if r, _ := st.Run(ctx, "bad"); r.Status != "running" {
		t.Errorf("status %q: an unknown status must not be applied", r.Status)
	}
}

// TestLostHeader indexes a run.log whose header record is corrupt: the run
// starts at its earliest record, so its times stay meaningful.
func TestLostHeader(t *testing.T) {
	data := append([]byte(nil), fixture(t, "basic")...)
	data[40] ^= 0xff // inside the header record
	home := homeWith(t, "k3v9x2ab", data)
	st := openStore(t, home)
	_, warns := index(t, st, home)
	if len(warns) != 1 {
		t.Fatalf("warnings %v, want one about the corrupt header", warns)
	}
	r, err := st.Run(ctx, "k3v9x2ab")
	if err != nil {
		t.Fatal(err)
	}
	if r.Start != 1764201600.75 || r.Wallclock() != 1.75 || r.Active != 1.75 || r.Project != "default" {
		t.Errorf("start %v, wallclock %v, active %v, project %q; want 1764201600.75, 1.75, 1.75, default",
			r.Start, r.Wallclock(), r.Active, r.Project)
	}
}

// attachedLog writes an attached log, as a process started for a run
// writes it, with the given steps of train_loss.
func attachedLog(t *testing.T, path string, seq0 uint64, from, to int64) {
	t.Helper()
	l := runfmttest.Continue(seq0, map[string]uint32{"train_loss": 0})
	if seq0 == 0 {
		l = runfmttest.New(runfmt.Header{ID: "run", Attach: true, Time: 1764201700, Writer: "test"})
	}
	for s := from; s < to; s++ {
		l.Point(s, 1764201700+float64(s), "train_loss", float64(s))
	}
	l.AppendFile(t, path)
}

// TestAttachedLogs indexes a run whose folder holds, beside run.log, a log
// written by a process attached to the run.
func TestAttachedLogs(t *testing.T) {
	home := homeWith(t, "run", fixture(t, "resume"))
	dir := filepath.Join(home, "runs", "run")
	attachedLog(t, filepath.Join(dir, "run.py-7-1.log"), 0, 0, 10)
	st := openStore(t, home)
	index(t, st, home)
	r, _ := st.Run(ctx, "run")
	if r.Name != "resumed" {
		t.Errorf("name %q: the run's identity must come from run.log", r.Name)
	}
	loss, _ := st.Points(ctx, "run", "train_loss", store.PointsOptions{Superseded: true})
	if loss.Len() != 8+10 {
		t.Fatalf("%d train_loss points, want 8 from run.log and 10 from the attached log", loss.Len())
	}
	// The attached log grows while run.log does not: it is known, so it is
	// checked on every index.
	attachedLog(t, filepath.Join(dir, "run.py-7-1.log"), 12, 10, 15)
	index(t, st, home)
	if loss, _ = st.Points(ctx, "run", "train_loss", store.PointsOptions{Superseded: true}); loss.Len() != 23 {
		t.Fatalf("%d points after the attached log grew, want 23", loss.Len())
	}
	// A new attached log next to an unchanged run.log is found by a deep
	// index (runlog index).
	attachedLog(t, filepath.Join(dir, "run.py-8-1.log"), 0, 100, 103)
	index(t, st, home)
	if loss, _ = st.Points(ctx, "run", "train_loss", store.PointsOptions{Superseded: true}); loss.Len() != 23 {
		t.Fatalf("%d points: a new attached log beside an unchanged run.log is only looked for by a deep index", loss.Len())
	}
	if _, err := ingest.Home(ctx, st, home, ingest.Options{Deep: true}); err != nil {
		t.Fatal(err)
	}
	if loss, _ = st.Points(ctx, "run", "train_loss", store.PointsOptions{Superseded: true}); loss.Len() != 26 {
		t.Fatalf("%d points after a deep index, want 26", loss.Len())
	}
	// Rebuilding gives the same.
	if _, err := ingest.Home(ctx, st, home, ingest.Options{Rebuild: true}); err != nil {
		t.Fatal(err)
	}
	if loss, _ = st.Points(ctx, "run", "train_loss", store.PointsOptions{Superseded: true}); loss.Len() != 26 {
		t.Fatalf("%d points after a rebuild, want 26", loss.Len())
	}
}
