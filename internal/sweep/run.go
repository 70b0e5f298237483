package sweep

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// Slot is a place where one member runs at a time: what it adds to the
// member's environment.
type Slot struct {
	Index int
	Env   map[string]string
}

// Slots returns n slots. With GPUs, each slot sees one of them
// (CUDA_VISIBLE_DEVICES), round robin; every slot gets cores/n threads
// (OMP_NUM_THREADS, MKL_NUM_THREADS) unless the environment sets them.
func Slots(n int, gpus []string, cores int) []Slot {
	if n <= 0 {
		n = max(1, len(gpus))
	}
	threads := strconv.Itoa(max(1, cores/n))
	slots := make([]Slot, n)
	for i := range slots {
		env := map[string]string{"RUNLOG_SWEEP_SLOT": strconv.Itoa(i)}
		for _, k := range []string{"OMP_NUM_THREADS", "MKL_NUM_THREADS"} {
			if _, set := os.LookupEnv(k); !set {
				env[k] = threads
			}
		}
		if len(gpus) > 0 {
			env["CUDA_VISIBLE_DEVICES"] = gpus[i%len(gpus)]
		}
		slots[i] = Slot{Index: i, Env: env}
	}
	return slots
}

// Outcome is how a member's run ended.
type Outcome struct {
	Status   string // a run status; failed when the run could not start
	ExitCode int
	Reason   string // why it failed to start or was stopped
}

// Launch runs a member in a slot to its end. m.RunID is the id its run
// has, or is to have.
type Launch func(ctx context.Context, m *MemberState, slot Slot) Outcome

// Options are how Run runs a sweep.
type Options struct {
	Home   string
	Slots  []Slot
	Launch Launch
	Log    io.Writer          // a line as each member starts and ends; nil for none
	Warn   func(error)        // problems that do not stop the sweep
	Now    func() time.Time   // nil for time.Now
	OnEnd  func(*MemberState) // after a member ended and the state is saved
}

// Summary counts the members of a sweep by state, after a Run.
type Summary map[string]int

func (s Summary) String() string {
	out := fmt.Sprintf("%d finished, %d failed, %d stopped", s[runfmt.StatusFinished], s[runfmt.StatusFailed], s[runfmt.StatusStopped])
	if n := s[runfmt.StatusKilled]; n > 0 {
		out += fmt.Sprintf(", %d killed", n)
	}
	if n := s[runfmt.StatusCrashed] + s[StateRunning]; n > 0 {
		out += fmt.Sprintf(", %d crashed", n)
	}
	if n := s[StatePending]; n > 0 {
		out += fmt.Sprintf(", %d not started", n)
	}
	return out
}

// Run runs the members todo of the sweep st, as many at once as there are
// slots, saving the state as each starts and ends. A slot takes the next
// member as soon as its member ends. Once ctx is done no member starts;
// those running go on to their end (the runner passes signals on to them).
// A member that fails does not stop the others.
func Run(ctx context.Context, st *State, todo []*MemberState, o Options) Summary {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	var mu sync.Mutex // guards st and the log
	save := func() {
		if err := st.Save(o.Home, o.Now()); err != nil {
			o.Warn(fmt.Errorf("record sweep %s: %w", st.Name, err))
		}
	}
	queue := make(chan *MemberState, len(todo))
	for _, m := range todo {
		queue <- m
	}
	close(queue)
	var wg sync.WaitGroup
	for _, slot := range o.Slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					return
				}
				m, ok := <-queue
				if !ok {
					return
				}
				mu.Lock()
				if m.RunID == "" {
					m.RunID = layout.NewID()
				}
				m.State, m.Reason, m.ExitCode = StateRunning, "", nil
				m.Attempts++
				save()
				fmt.Fprintf(o.Log, "runlog: sweep %s: member %d (%s) started as run %s\n", st.Name, m.Index, m.Name, m.RunID)
				mu.Unlock()

				out := o.Launch(ctx, m, slot)

				mu.Lock()
				m.State, m.Reason = out.Status, out.Reason
				code := out.ExitCode
				m.ExitCode = &code
				save()
				line := fmt.Sprintf("runlog: sweep %s: member %d (%s) %s", st.Name, m.Index, m.Name, out.Status)
				if out.Status != runfmt.StatusFinished {
					line += fmt.Sprintf(" (exit code %d)", code)
				}
				if out.Reason != "" && out.Status != runfmt.StatusFinished {
					line += ": " + firstLine(out.Reason)
				}
				fmt.Fprintln(o.Log, line)
				mu.Unlock()
				if o.OnEnd != nil {
					o.OnEnd(m)
				}
			}
		}()
	}
	wg.Wait()
	return Summary(st.Counts())
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
