package series

import (
	"fmt"
	"math"
	"strings"
)

// This file holds what a resume means for a run's points: the rule that
// tells a resumed program that started over from one that continued —
// judged by `runlog run` as it watches the program and by indexing for
// every run, whatever resumed it — and where a run's time axes break
// between process segments.

// IsSystemKey reports whether key is one of the machine's metrics (sys/…)
// that `runlog run` and the clients log at the latest training step: such
// points say nothing of where a resumed program started.
func IsSystemKey(key string) bool { return strings.HasPrefix(key, "sys/") }

// Restart is a resumed program that logged its first step at or below the
// step the run had reached (the checkpoint's step, or the last step kept
// after a rewind): it did not continue from there, it started again.
type Restart struct {
	From  int64 // the step the run had reached when it resumed
	First int64 // the first step the resumed program logged
}

// CheckRestart judges a resumed program's first logged step against the
// step the run had reached: first at or below from is a restart.
func CheckRestart(from, first int64) (Restart, bool) {
	return Restart{From: from, First: first}, first <= from
}

// RewindTo is the step the run is treated as rewound to: the restarted
// program's points, from its first step on, supersede the earlier ones.
func (r Restart) RewindTo() int64 {
	if r.First == math.MinInt64 {
		return r.First
	}
	return r.First - 1
}

// Title is the alert's title, the same wherever the restart is detected:
// matching titles and steps is how views drop the alert indexing derives
// when `runlog run` recorded it too.
func (r Restart) Title() string {
	return fmt.Sprintf("resumed from step %d, but started again at step %d", r.From, r.First)
}

// Text says what happened and what runlog did about it; hint is the
// question to ask of the program ("did it restore RUNLOG_CHECKPOINT?").
func (r Restart) Text(hint string) string {
	if hint == "" {
		hint = "did it restore its checkpoint?"
	}
	return fmt.Sprintf("resumed from step %d, but the program started again at step %d: %s "+
		"Its points from step %d on supersede those logged before the resume, which are kept but left out of charts, statistics and exports.",
		r.From, r.First, hint, r.First)
}

// ResumeXs returns where a run resumed on axis: the x of the start of
// every process segment after the first, on the wallclock and time axes,
// where a line must break rather than cross the time the run lay dead; nil
// on the others (steps know nothing of that time, active time leaves it
// out).
func ResumeXs(axis Axis, startMs int64, segs []Segment) []float64 {
	if axis != AxisWallclock && axis != AxisTime || len(segs) < 2 {
		return nil
	}
	starts := Points{Steps: make([]int64, len(segs)-1), Times: make([]int64, len(segs)-1), Values: make([]float64, len(segs)-1)}
	for i, sg := range segs[1:] {
		starts.Times[i] = sg.Start
	}
	return X(starts, axis, startMs, nil)
}
