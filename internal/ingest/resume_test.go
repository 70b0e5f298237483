package ingest_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// steps logs train_loss at steps from..to at times t0, t0+1, …, and the
// machine's CPU at each step as the runner would.
func steps(l *runfmttest.Log, from, to int64, t0 float64) *runfmttest.Log {
	for s := from; s <= to; s++ {
		l.Point(s, t0+float64(s-from), "train_loss", 10-float64(s)/10)
	}
	return l
}

func resumeRec(l *runfmttest.Log, t float64) *runfmttest.Log {
	return l.JSON(runfmt.TypeResume, runfmt.Resume{Time: t, Host: "box", PID: 7})
}

func rewindRec(l *runfmttest.Log, t float64, step int64) *runfmttest.Log {
	return l.JSON(runfmt.TypeRewind, runfmt.Rewind{Time: t, Step: step})
}

// stage is what a run folder holds at one moment: the bytes of each log.
type stage map[string][]byte

// at takes the bytes the logs hold now.
func at(logs map[string]*runfmttest.Log) stage {
	s := stage{}
	for name, l := range logs {
		s[name] = append([]byte(nil), l.Bytes()...)
	}
	return s
}

// restartCase is a run whose logs grow through stages; it is indexed after
// each stage, as a live run is, and from scratch at the end.
type restartCase struct {
	name   string
	stages func() []stage
	steps  []int64  // the current train_loss steps, in step order
	all    int      // train_loss points, superseded ones included
	alerts []string // titles of the restart alerts
}

func TestResumedProgramThatStartedAgain(t *testing.T) {
	header := func(t0 float64) *runfmttest.Log {
		return runfmttest.New(runfmt.Header{ID: "run", Name: "resumeme", Time: t0})
	}
	attached := func(t0 float64) *runfmttest.Log {
		return runfmttest.New(runfmt.Header{ID: "run", Time: t0, Attach: true})
	}
	seq := func(from, to int64) []int64 {
		var out []int64
		for s := from; s <= to; s++ {
			out = append(out, s)
		}
		return out
	}
	cases := []restartCase{{
		name: "client resume that started again",
		stages: func() []stage {
			l := steps(header(1000), 0, 9, 1001)
			s1 := at(map[string]*runfmttest.Log{"run.log": l})
			steps(resumeRec(l, 2000), 0, 14, 2001)
			return []stage{s1, at(map[string]*runfmttest.Log{"run.log": l})}
		},
		steps: seq(0, 14), all: 25,
		alerts: []string{"resumed from step 9, but started again at step 0"},
	}, {
		name: "client resume that continued",
		stages: func() []stage {
			l := steps(header(1000), 0, 9, 1001)
			s1 := at(map[string]*runfmttest.Log{"run.log": l})
			steps(resumeRec(l, 2000), 10, 14, 2001)
			return []stage{s1, at(map[string]*runfmttest.Log{"run.log": l})}
		},
		steps: seq(0, 14), all: 15,
	}, {
		name: "client resume with a rewind, cut between the resume and the first step",
		stages: func() []stage {
			l := steps(header(1000), 0, 9, 1001)
			s1 := at(map[string]*runfmttest.Log{"run.log": l})
			rewindRec(resumeRec(l, 2000), 2000.5, 5)
			s2 := at(map[string]*runfmttest.Log{"run.log": l})
			l.Point(5, 2001, "sys/cpu_percent", 50.0) // the machine's metrics do not count
			s3 := at(map[string]*runfmttest.Log{"run.log": l})
			steps(l, 0, 12, 2002)
			return []stage{s1, s2, s3, at(map[string]*runfmttest.Log{"run.log": l})}
		},
		steps: seq(0, 12), all: 23,
		alerts: []string{"resumed from step 5, but started again at step 0"},
	}, {
		name: "runner resume, program logs through a client and ignores the checkpoint",
		stages: func() []stage {
			run := header(1000)
			a := steps(attached(1000.5), 0, 9, 1001)
			s1 := at(map[string]*runfmttest.Log{"run.log": run, "run.a.log": a})
			rewindRec(resumeRec(run, 2000), 2000, 5)
			run.Point(5, 2000.2, "sys/cpu_percent", 90.0)
			s2 := at(map[string]*runfmttest.Log{"run.log": run, "run.a.log": a})
			b := steps(attached(2000.5), 0, 11, 2001)
			return []stage{s1, s2, at(map[string]*runfmttest.Log{"run.log": run, "run.a.log": a, "run.b.log": b})}
		},
		steps: seq(0, 11), all: 22,
		alerts: []string{"resumed from step 5, but started again at step 0"},
	}, {
		name: "runner resume, program restores the checkpoint",
		stages: func() []stage {
			run := header(1000)
			a := steps(attached(1000.5), 0, 9, 1001)
			s1 := at(map[string]*runfmttest.Log{"run.log": run, "run.a.log": a})
			rewindRec(resumeRec(run, 2000), 2000, 5)
			b := steps(attached(2000.5), 6, 11, 2001)
			return []stage{s1, at(map[string]*runfmttest.Log{"run.log": run, "run.a.log": a, "run.b.log": b})}
		},
		steps: seq(0, 11), all: 16,
	}, {
		name: "a resume of a resume: restarted, then continued, then restarted",
		stages: func() []stage {
			l := steps(header(1000), 0, 9, 1001)
			s1 := at(map[string]*runfmttest.Log{"run.log": l})
			steps(resumeRec(l, 2000), 0, 6, 2001) // started again: alert
			s2 := at(map[string]*runfmttest.Log{"run.log": l})
			steps(rewindRec(resumeRec(l, 3000), 3000, 4), 5, 8, 3001) // continued from 4
			s3 := at(map[string]*runfmttest.Log{"run.log": l})
			steps(rewindRec(resumeRec(l, 4000), 4000, 8), 3, 9, 4001) // started again at 3
			return []stage{s1, s2, s3, at(map[string]*runfmttest.Log{"run.log": l})}
		},
		steps: seq(0, 9), all: 10 + 7 + 4 + 7,
		alerts: []string{"resumed from step 9, but started again at step 0", "resumed from step 8, but started again at step 3"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stages := c.stages()
			home := t.TempDir()
			st := openStore(t, home)
			for _, s := range stages {
				writeStage(t, home, s)
				index(t, st, home)
			}
			c.check(t, st, "live")
			// From scratch, as `runlog index --rebuild` or a folder copied
			// from another machine: each process's log is read before the
			// resume after it, or the rewind would miss its points.
			rebuilt := openStore(t, t.TempDir())
			if _, err := ingest.Home(ctx, rebuilt, home, ingest.Options{}); err != nil {
				t.Fatal(err)
			}
			c.check(t, rebuilt, "from scratch")
		})
	}
}

func writeStage(t *testing.T, home string, s stage) {
	t.Helper()
	dir := filepath.Join(home, "runs", "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range s {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (c restartCase) check(t *testing.T, st store.Store, how string) {
	t.Helper()
	cur, err := st.Points(ctx, "run", "train_loss", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := append([]int64(nil), cur.Steps...)
	if !reflect.DeepEqual(steps, c.steps) {
		t.Errorf("%s: current train_loss steps %v, want %v: one point per step", how, steps, c.steps)
	}
	all, _ := st.Points(ctx, "run", "train_loss", store.PointsOptions{Superseded: true})
	if all.Len() != c.all {
		t.Errorf("%s: %d points with the superseded ones, want %d: the log's points are all kept", how, all.Len(), c.all)
	}
	r, err := st.Run(ctx, "run")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := summary.Load(ctx, st, r, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m := sum.Metrics["train_loss"]; m.Count != int64(len(c.steps)) || m.FinalStep != c.steps[len(c.steps)-1] {
		t.Errorf("%s: summary counts %d train_loss points ending at step %d, want %d ending at %d", how, m.Count, m.FinalStep, len(c.steps), c.steps[len(c.steps)-1])
	}
	evs, _ := summary.Events(ctx, st, "run")
	var alerts []string
	for _, e := range evs {
		if e.Kind == runfmt.EventAlert && e.Data["rule"] == ingest.RuleRestart {
			alerts = append(alerts, e.Title)
			if !strings.Contains(e.Text, "started again at step") || e.Step == nil {
				t.Errorf("%s: alert %q says %q", how, e.Title, e.Text)
			}
		}
	}
	if !reflect.DeepEqual(alerts, c.alerts) {
		t.Errorf("%s: restart alerts %q, want %q", how, alerts, c.alerts)
	}
}

func TestRestartRule(t *testing.T) {
	for _, c := range []struct {
		from, first int64
		restarted   bool
	}{{500, 0, true}, {500, 500, true}, {500, 501, false}, {500, 300, true}, {-1, 0, false}} {
		r, ok := series.CheckRestart(c.from, c.first)
		if ok != c.restarted {
			t.Errorf("CheckRestart(%d, %d) = %v", c.from, c.first, ok)
		}
		if ok && r.RewindTo() != c.first-1 {
			t.Errorf("rewind to %d", r.RewindTo())
		}
	}
}
