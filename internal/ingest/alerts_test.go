package ingest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

const t0 = 1764201600.0

// lossLog builds a run.log (or, with attach, an attached log) whose key
// logs the values at steps 0, 1, …; alertAt, if not negative, records the
// alert `runlog run` would after the value at that step. Unless live, the
// log ends with the writer's status record.
func lossLog(key string, values []float64, attach bool, alertAt int, live bool) []byte {
	l := runfmttest.New(runfmt.Header{ID: "run", Time: t0, Attach: attach, Writer: "test"})
	for i, v := range values {
		l.Point(int64(i), t0+float64(i), key, v, "lr", 0.1)
		if i == alertAt {
			l.Event(runfmt.Event{Kind: runfmt.EventAlert, Time: t0 + float64(i) + 0.5, Level: "error",
				Title: key + " is NaN", Text: key + " became NaN at step " + strconv.Itoa(i)})
		}
	}
	if !live {
		l.Finish(t0 + float64(len(values)))
	}
	return l.Bytes()
}

func flat(n int, v float64, rest ...float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return append(out, rest...)
}

type alertRow struct {
	Title   string
	Step    int64
	Derived bool
}

func alertsOf(t *testing.T, st store.Store, dedupe bool) []alertRow {
	t.Helper()
	evs, err := st.Events(context.Background(), "run")
	if err != nil {
		t.Fatal(err)
	}
	if dedupe {
		evs = DropDuplicateAlerts(evs)
	}
	var out []alertRow
	for _, e := range evs {
		if e.Kind != runfmt.EventAlert {
			continue
		}
		r := alertRow{Title: e.Title, Derived: IsDerived(e.Event)}
		if e.Step != nil {
			r.Step = *e.Step
		}
		out = append(out, r)
	}
	return out
}

// TestDerivedAlerts indexes runs whole, in two parts (with and without the
// state kept between indexings) and rebuilt, and checks that each way
// stores the same derived alerts, and what views show once duplicates of
// recorded alerts are dropped.
func TestDerivedAlerts(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		primary  []byte
		attached []byte // run.py-1-1.log, if any
		stored   []alertRow
		shown    []alertRow
	}{
		{
			name:    "NaN of a client run",
			primary: lossLog("train_loss", append(flat(3, 2, nan), flat(8, 1, nan)...), false, -1, false),
			stored:  []alertRow{{Title: "train_loss is NaN", Step: 3, Derived: true}},
			shown:   []alertRow{{Title: "train_loss is NaN", Step: 3, Derived: true}},
		},
		{
			name:    "a recorded alert: none derived",
			primary: lossLog("loss", flat(4, 1, nan), false, 4, false),
			stored:  []alertRow{{Title: "loss is NaN", Step: 0}},
			shown:   []alertRow{{Title: "loss is NaN", Step: 0}},
		},
		{
			name:    "spike",
			primary: lossLog("loss", append(flat(22, 1, 20), flat(10, 1)...), false, -1, false),
			stored:  []alertRow{{Title: "loss spiked to 20", Step: 22, Derived: true}},
			shown:   []alertRow{{Title: "loss spiked to 20", Step: 22, Derived: true}},
		},
		{
			name:     "NaN in an attached log",
			primary:  runfmttest.New(runfmt.Header{ID: "run", Time: t0}).Bytes(),
			attached: lossLog("val_loss", flat(3, 1, math.Inf(1), 2), true, -1, false),
			stored:   []alertRow{{Title: "val_loss is +Inf", Step: 3, Derived: true}},
			shown:    []alertRow{{Title: "val_loss is +Inf", Step: 3, Derived: true}},
		},
		{
			name: "recorded in run.log, derived in the attached log: views show one",
			primary: runfmttest.New(runfmt.Header{ID: "run", Time: t0}).Event(runfmt.Event{Kind: runfmt.EventAlert, Time: t0 + 5,
				Level: "error", Title: "loss is NaN", Text: "loss became NaN at step 3"}).Finish(t0 + 9).Bytes(),
			attached: lossLog("loss", flat(3, 1, nan, 1), true, -1, false),
			stored:   []alertRow{{Title: "loss is NaN", Step: 3, Derived: true}, {Title: "loss is NaN"}},
			shown:    []alertRow{{Title: "loss is NaN"}},
		},
		{
			name:    "live: waiting for a recorded alert",
			primary: lossLog("loss", append(flat(20, 1, nan), flat(alertDelay-2, 1)...), false, -1, true),
		},
		{
			name:    "live: released alertDelay records later",
			primary: lossLog("loss", append(flat(20, 1, nan), flat(alertDelay, 1)...), false, -1, true),
			stored:  []alertRow{{Title: "loss is NaN", Step: 20, Derived: true}},
			shown:   []alertRow{{Title: "loss is NaN", Step: 20, Derived: true}},
		},
		{
			name:    "nothing to say",
			primary: lossLog("loss", flat(40, 1), false, -1, false),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := indexWays(t, tt.primary, tt.attached)
			for way, st := range whole {
				if got := alertsOf(t, st, false); !reflect.DeepEqual(got, tt.stored) {
					t.Errorf("%s: stored %+v, want %+v", way, got, tt.stored)
				}
				if got := alertsOf(t, st, true); !reflect.DeepEqual(got, tt.shown) {
					t.Errorf("%s: shown %+v, want %+v", way, got, tt.shown)
				}
			}
			evs := func(st store.Store) []store.Event { e, _ := st.Events(context.Background(), "run"); return e }
			for way, st := range whole {
				if !reflect.DeepEqual(evs(st), evs(whole["whole"])) {
					t.Errorf("%s: events differ from indexing at once:\n%+v\n%+v", way, evs(st), evs(whole["whole"]))
				}
			}
		})
	}
}

// indexWays indexes the logs into a store per way: at once; the first 60%
// of their bytes then the rest, in one process (the state kept) or as a new one (the state
// read again from the log); and rebuilt after that.
func indexWays(t *testing.T, primary, attached []byte) map[string]store.Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]store.Store{}
	for _, way := range []string{"whole", "parts", "parts-cold", "rebuilt"} {
		home := t.TempDir()
		dir := filepath.Join(home, "runs", "run")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		st, err := sqlite.Open(filepath.Join(home, "runlog.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		write := func(n float64) {
			cut := func(b []byte) []byte { return b[:int(float64(len(b))*n)] }
			if err := os.WriteFile(filepath.Join(dir, "run.log"), cut(primary), 0o644); err != nil {
				t.Fatal(err)
			}
			if attached != nil {
				if err := os.WriteFile(filepath.Join(dir, "run.py-1-1.log"), cut(attached), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		index := func(opt Options) {
			if _, err := Home(ctx, st, home, opt); err != nil {
				t.Fatal(err)
			}
		}
		if way == "whole" {
			write(1)
			index(Options{})
		} else {
			write(0.6)
			index(Options{})
			if way == "parts-cold" {
				watchers.Lock()
				clear(watchers.m)
				watchers.Unlock()
			}
			write(1)
			index(Options{Deep: true})
			if way == "rebuilt" {
				index(Options{Rebuild: true})
			}
		}
		out[way] = st
	}
	return out
}

func TestMentionsStep(t *testing.T) {
	tests := []struct {
		text string
		step int64
		want bool
	}{
		{"loss became NaN at step 2", 2, true},
		{"loss became NaN at step 20", 2, false},
		{"loss was 5 at step 20, 11.0× its recent median", 20, true},
		{"loss was 5 at step 120", 20, false},
		{"at step 3 and at step 30", 30, true},
		{"", 0, false},
	}
	for _, tt := range tests {
		if got := mentionsStep(tt.text, tt.step); got != tt.want {
			t.Errorf("mentionsStep(%q, %d) = %v, want %v", tt.text, tt.step, got, tt.want)
		}
	}
}
