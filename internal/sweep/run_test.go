package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
)

func TestMedianRule(t *testing.T) {
	md := NewMedian(&Metric{Name: "loss", Goal: "minimize"}, EarlyTerminate{Type: "median", MinSteps: 2, MinMembers: 2})
	obs := func(m int, step int64, v float64) string { return md.Observe(m, step, map[string]float64{"loss": v}) }
	for step := int64(0); step < 5; step++ {
		obs(0, step, 5-float64(step)) // 5 4 3 2 1
		obs(1, step, 6-float64(step)) // 6 5 4 3 2
	}
	if r := obs(2, 1, 100); r != "" {
		t.Errorf("stopped before min_steps: %s", r)
	}
	if r := obs(2, 3, 2.0); r != "" {
		t.Errorf("stopped while better than the median (2.5): %s", r)
	}
	if r := obs(3, 3, 2.6); !strings.Contains(r, "median 2 of 3 members") {
		t.Errorf("not stopped while worse than the median: %q", r)
	}
	if r := obs(4, 10, 9); r != "" {
		t.Errorf("judged with no member past step 10: %s", r)
	}
	if r := md.Observe(5, 3, map[string]float64{"other": 9}); r != "" {
		t.Errorf("judged on another key: %s", r)
	}
	max := NewMedian(&Metric{Name: "acc", Goal: "maximize"}, EarlyTerminate{MinMembers: 1})
	max.Observe(0, 0, map[string]float64{"acc": 0.9})
	if r := max.Observe(1, 0, map[string]float64{"acc": 0.5}); r == "" {
		t.Error("maximize: a worse member not stopped")
	}
}

// TestMedianSeed: members seeded from a past run of the sweep are judged
// against like members of this one, and are never judged themselves.
func TestMedianSeed(t *testing.T) {
	md := NewMedian(&Metric{Name: "loss", Goal: "minimize"}, EarlyTerminate{Type: "median", MinSteps: 2, MinMembers: 3})
	steps := []int64{0, 1, 2, 3, 4}
	md.Seed(0, steps, []float64{5, 4, 3, 2, 1})
	md.Seed(1, steps, []float64{6, 5, 4, 3, 2})
	md.Seed(2, steps[:3], []float64{5, math.NaN(), 2}) // stopped at step 2
	obs := func(m int, step int64, v float64) string { return md.Observe(m, step, map[string]float64{"loss": v}) }
	if r := obs(3, 2, 3.5); r == "" || !strings.Contains(r, "median 3 of 3 members") {
		t.Errorf("step 2, worse than the seeded median 3: %q", r)
	}
	if r := obs(4, 2, 2.5); r != "" {
		t.Errorf("step 2, better than the median 3.25 of 4 members: %q", r)
	}
	if r := obs(5, 4, 9); r != "" {
		t.Errorf("step 4: only 2 others past it, fewer than min_members: %q", r)
	}
}

func testState(n int) *State {
	st := &State{Version: 1, Name: "t", Command: []string{"x"}, Method: MethodGrid}
	for i := range n {
		st.Members = append(st.Members, &MemberState{Member: Member{Index: i, Name: fmt.Sprint("m", i), Config: map[string]any{}}, State: StatePending})
	}
	return st
}

func TestRunParallelAndFailures(t *testing.T) {
	home := t.TempDir()
	st := testState(9)
	var mu sync.Mutex
	running, most := 0, 0
	launch := func(ctx context.Context, m *MemberState, slot Slot) Outcome {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if m.Index%3 == 1 {
			return Outcome{Status: runfmt.StatusFailed, ExitCode: 1}
		}
		return Outcome{Status: runfmt.StatusFinished}
	}
	sum := Run(context.Background(), st, st.Members, Options{Home: home, Slots: Slots(3, nil, 6), Launch: launch})
	if sum[runfmt.StatusFinished] != 6 || sum[runfmt.StatusFailed] != 3 || most != 3 {
		t.Errorf("summary %v, at most %d at once", sum, most)
	}
	again, err := Load(home, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range again.Members {
		if m.RunID == "" || m.Attempts != 1 || m.State == StatePending {
			t.Errorf("member %+v", m)
		}
	}
}

func TestRunStopsStartingWhenCancelled(t *testing.T) {
	st := testState(5)
	ctx, cancel := context.WithCancel(context.Background())
	launch := func(ctx context.Context, m *MemberState, slot Slot) Outcome {
		cancel()
		return Outcome{Status: runfmt.StatusKilled, ExitCode: 130}
	}
	sum := Run(ctx, st, st.Members, Options{Home: t.TempDir(), Slots: Slots(1, nil, 1), Launch: launch})
	if sum[runfmt.StatusKilled] != 1 || sum[StatePending] != 4 {
		t.Errorf("summary %v", sum)
	}
}

func TestSlots(t *testing.T) {
	t.Setenv("MKL_NUM_THREADS", "7")
	s := Slots(4, []string{"0", "1"}, 16)
	if len(s) != 4 || s[2].Env["CUDA_VISIBLE_DEVICES"] != "0" || s[3].Env["CUDA_VISIBLE_DEVICES"] != "1" || s[1].Env["OMP_NUM_THREADS"] != "4" {
		t.Errorf("slots %v", s)
	}
	if _, set := s[0].Env["MKL_NUM_THREADS"]; set {
		t.Error("MKL_NUM_THREADS overrides the user's")
	}
	if c := Slots(3, nil, 2); c[0].Env["OMP_NUM_THREADS"] != "1" {
		t.Errorf("cpu slots %v", c)
	}
}

func TestLock(t *testing.T) {
	home := t.TempDir()
	unlock, err := Lock(home, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(home, "a"); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	u, err := Lock(home, "a")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u()
}
