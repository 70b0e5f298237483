package runner

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
)

// monitor follows a run while it goes: the metrics the child prints or logs
// through a client (read back from its attached logs), for the status line,
// alerts on a NaN or exploding loss, and checkpoint retention.
type monitor struct {
	run    *runlog.Run
	dir    string
	opt    *Options
	stopFn func(reason string) // stops the child
	sayFn  func(msg string)    // tells the person at the terminal

	mu          sync.Mutex
	tails       map[string]*tail
	attached    bool
	step        int64
	stepSeen    bool
	rate        []stepAt
	last        map[string]float64 // latest value of each loss key
	watch       *series.Watch      // NaN and spikes: the rule ingest also judges every run by
	checkpoints []checkpoint
	stopped     string // why the run was stopped, if it was
	judged      bool   // the program's first step was judged (resumes)
	byObserver  bool   // by Options.Observe
	started     time.Time
}

type tail struct {
	offset  int64
	keys    map[uint32]string
	earlier bool // a log of an earlier attempt, followed from its end
}

type stepAt struct {
	t    time.Time
	step int64
}

type checkpoint struct {
	path    string // relative to the run folder
	step    int64
	score   float64 // the validation value in its metadata, NaN if none
	deleted bool
}

func newMonitor(run *runlog.Run, opt *Options, stop, say func(string)) *monitor {
	m := &monitor{
		run: run, dir: run.Dir(), opt: opt, stopFn: stop, sayFn: say,
		tails: map[string]*tail{}, last: map[string]float64{},
		watch: series.NewWatch(opt.SpikeFactor), started: time.Now(),
	}
	if opt.Resume != "" {
		m.skipEarlier()
	}
	return m
}

// skipEarlier makes the monitor follow only what the logs of a resumed
// run's folder gain from now on: the attached logs of earlier attempts
// are history — their steps, alerts and checkpoints are not this
// program's.
func (m *monitor) skipEarlier() {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !attachedLog(name) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			m.tails[name] = &tail{offset: fi.Size(), keys: map[uint32]string{}, earlier: true}
		}
	}
}

// attachedLog reports whether a file of the run folder is the log of a
// process attached to the run (run.<name>.log).
func attachedLog(name string) bool {
	return name != layout.RunLogFile && strings.HasPrefix(name, "run.") && strings.HasSuffix(name, ".log")
}

// clientAttached reports whether a client in the child logs to the run, in
// which case metrics in its output are not parsed again.
func (m *monitor) clientAttached() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attached
}

// poll reads what the attached logs of the run folder hold that is new.
func (m *monitor) poll() {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !attachedLog(name) {
			continue
		}
		m.mu.Lock()
		t := m.tails[name]
		if t == nil {
			t = &tail{keys: map[uint32]string{}}
			m.tails[name] = t
			m.attached = true
		}
		m.mu.Unlock()
		m.read(filepath.Join(m.dir, name), t)
	}
}

func (m *monitor) read(path string, t *tail) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
		return
	}
	r := runfmt.NewReaderAt(f, path, t.offset)
	if t.earlier && t.offset > 0 {
		// The key ids of a log followed from its end are defined before it.
		t.keys = keyIDs(path, t.offset)
		t.earlier = false
	}
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		switch rec.Type {
		case runfmt.TypeKey:
			if id, name, err := rec.Key(); err == nil {
				t.keys[id] = name
			}
		case runfmt.TypeMetrics:
			mt, err := rec.Metrics()
			if err != nil {
				continue
			}
			values := make(map[string]float64, mt.Len())
			for i := 0; i < mt.Len(); i++ {
				id, v := mt.At(i)
				if k, ok := t.keys[id]; ok {
					values[k] = v
				}
			}
			m.observe(mt.Step, values)
		case runfmt.TypeArtifact:
			var a runfmt.Artifact
			if rec.DecodeJSON(&a) == nil && a.Kind == runfmt.KindCheckpoint {
				runfmt.NumberValue(a.Metadata)
				m.addCheckpoint(a)
			}
		}
	}
	t.offset = r.Offset()
}

// keyIDs reads the key ids a log defines before offset.
func keyIDs(path string, offset int64) map[uint32]string {
	keys := map[uint32]string{}
	f, err := os.Open(path)
	if err != nil {
		return keys
	}
	defer f.Close()
	r := runfmt.NewReader(io.LimitReader(f, offset), path)
	for {
		rec, err := r.Next()
		if err != nil {
			return keys
		}
		if rec.Type == runfmt.TypeKey {
			if id, name, err := rec.Key(); err == nil {
				keys[id] = name
			}
		}
	}
}

// restart judges the first step a resumed program logs against the
// checkpoint it was handed (series.CheckRestart, the rule indexing
// applies to every run): a program that started again is told about on
// the terminal and recorded as an alert. m.mu is held; the alert's title
// and text are returned for the caller to record.
func (m *monitor) restart(step int64, values map[string]float64) (title, text string) {
	if m.judged || m.opt.Resume == "" || m.opt.Checkpoint == "" {
		return "", ""
	}
	program := false
	for k := range values {
		program = program || !series.IsSystemKey(k)
	}
	if !program {
		return "", ""
	}
	m.judged = true
	r, restarted := series.CheckRestart(m.opt.CkptStep, step)
	if !restarted {
		return "", ""
	}
	return r.Title(), r.Text("did it restore " + EnvCheckpoint + "?")
}

// observe takes the values a step logged.
func (m *monitor) observe(step int64, values map[string]float64) {
	m.mu.Lock()
	restartTitle, restartText := m.restart(step, values)
	if !m.stepSeen || step > m.step {
		m.step, m.stepSeen = step, true
		now := time.Now()
		m.rate = append(m.rate, stepAt{now, step})
		for len(m.rate) > 2 && now.Sub(m.rate[0].t) > 30*time.Second {
			m.rate = m.rate[1:]
		}
	}
	var alerts [][2]string
	stop := ""
	for k, v := range values {
		if !series.IsWatchedKey(k) {
			continue
		}
		m.last[k] = v
		a, ok := m.watch.Observe(k, step, v)
		if !ok {
			continue
		}
		alerts = append(alerts, [2]string{a.Title(), a.Text()})
		if a.Rule == series.RuleNonFinite && m.opt.StopOnNaN && stop == "" {
			stop = fmt.Sprintf("stopped by runlog (--stop-on-nan): %s became %v at step %d", k, v, step)
		}
	}
	observer := false
	if stop == "" && m.stopped == "" && m.opt.Observe != nil {
		stop = m.opt.Observe(step, values)
		observer = stop != ""
	}
	if stop != "" && m.stopped == "" {
		m.stopped, m.byObserver = stop, observer
	} else {
		stop = ""
	}
	m.mu.Unlock()
	if restartTitle != "" {
		m.sayFn(restartText)
		m.run.Alert(restartTitle, restartText, "warn")
	}
	if observer {
		m.run.Note("stopped early", stop)
	}
	for _, a := range alerts {
		m.run.Alert(a[0], a[1], "error")
	}
	if stop != "" {
		m.stopFn(stop)
	}
}

// observerStopped reports whether Options.Observe stopped the run.
func (m *monitor) observerStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byObserver
}

// stopReason returns why the monitor stopped the run, if it did.
func (m *monitor) stopReason() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped
}

// addCheckpoint registers a checkpoint and applies the retention policy.
func (m *monitor) addCheckpoint(a runfmt.Artifact) {
	c := checkpoint{path: a.Path, score: math.NaN()}
	if a.Step != nil {
		c.step = *a.Step
	}
	for _, k := range series.ValLossKeys {
		if v, ok := a.Metadata[k].(float64); ok {
			c.score = v
			break
		}
	}
	m.mu.Lock()
	m.checkpoints = append(m.checkpoints, c)
	doomed := m.retire()
	m.mu.Unlock()
	for _, c := range doomed {
		m.remove(c)
	}
}

// retire marks the checkpoints that --keep-last and --keep-best let go:
// all but the last N, never the best one, never one outside the run folder.
// m.mu is held.
func (m *monitor) retire() []checkpoint {
	n := m.opt.KeepLast
	if n <= 0 || len(m.checkpoints) <= n {
		return nil
	}
	best := -1
	if m.opt.KeepBest {
		for i, c := range m.checkpoints {
			if !c.deleted && !math.IsNaN(c.score) && (best < 0 || c.score < m.checkpoints[best].score) {
				best = i
			}
		}
	}
	var doomed []checkpoint
	live := 0
	for i := len(m.checkpoints) - 1; i >= 0; i-- {
		c := &m.checkpoints[i]
		if c.deleted {
			continue
		}
		live++
		if live <= n || i == best {
			continue
		}
		c.deleted = true
		doomed = append(doomed, *c)
	}
	return doomed
}

// remove deletes a checkpoint file, if it lies inside the run folder.
func (m *monitor) remove(c checkpoint) {
	path := filepath.Join(m.dir, filepath.FromSlash(c.path))
	if filepath.IsAbs(c.path) {
		path = c.path
	}
	rel, err := filepath.Rel(m.dir, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return // not ours to delete
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		m.run.Alert("could not delete a checkpoint", fmt.Sprintf("%s: %v", c.path, err), "warn")
		return
	}
	m.run.Note("deleted checkpoint", fmt.Sprintf("%s (step %d): keeping the last %d%s", c.path, c.step, m.opt.KeepLast,
		map[bool]string{true: " and the best", false: ""}[m.opt.KeepBest]))
}

// status returns the status line.
func (m *monitor) status(total int64) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var parts []string
	el := time.Since(m.started)
	if m.stepSeen {
		s := fmt.Sprintf("step %d", m.step)
		if total > 0 {
			s = fmt.Sprintf("step %d/%d (%.0f%%)", m.step, total, 100*float64(m.step)/float64(total))
		}
		parts = append(parts, s)
	}
	keys := make([]string, 0, len(m.last))
	for k := range m.last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.4g", k, m.last[k]))
	}
	if n := len(m.rate); n >= 2 {
		a, b := m.rate[0], m.rate[n-1]
		if dt := b.t.Sub(a.t).Seconds(); dt > 0 {
			rate := float64(b.step-a.step) / dt
			parts = append(parts, fmt.Sprintf("%.3g steps/s", rate))
			if total > m.step && rate > 0 {
				parts = append(parts, "ETA "+shortDuration(time.Duration(float64(total-m.step)/rate*float64(time.Second))))
			}
		}
	}
	parts = append(parts, shortDuration(el))
	return "runlog ▸ " + strings.Join(parts, " · ")
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
