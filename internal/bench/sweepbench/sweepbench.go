// Package sweepbench measures how long a slot of `runlog sweep` sits idle
// between one member's end and the next one's start (goal ≤ 100 ms): the
// runner finishing the run, the sweep recording it, and the runner
// starting the next (run folder, git state, config, the process). As
// runlog sweep does, it probes the environment and the checkout's diff
// once for the sweep, not for each member.
package sweepbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/gitinfo"
	"github.com/runlog/runlog/internal/runner"
	"github.com/runlog/runlog/internal/sweep"
)

// Config is what the benchmark runs.
type Config struct {
	Dir      string // scratch folder; removed afterwards unless Keep
	Keep     bool
	Members  int           // members of each sweep
	Parallel []int         // the slot counts to measure, one sweep each
	Work     time.Duration // how long each member runs
	Out      io.Writer
	Log      io.Writer // progress
}

// Default is the configuration the goal is stated for.
var Default = Config{Members: 24, Parallel: []int{1, 2, 4}, Work: 50 * time.Millisecond}

// Row is the result of one sweep.
type Row struct {
	Parallel int
	Members  int
	Gaps     []time.Duration // every slot's idle time between members
	Wall     time.Duration
}

// Run runs one sweep for each slot count and prints the table.
func Run(ctx context.Context, c Config) ([]Row, error) {
	dir, err := os.MkdirTemp(c.Dir, "runlog-sweepbench-")
	if err != nil {
		return nil, err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	var rows []Row
	for _, p := range c.Parallel {
		fmt.Fprintf(c.Log, "sweep of %d members, %d at a time…\n", c.Members, p)
		row, err := one(ctx, filepath.Join(dir, fmt.Sprint("p", p)), c, p)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	wd, _ := os.Getwd()
	fmt.Fprintf(c.Out, "sweep: slot idle time between members (members of %s; %d CPUs; working directory %s)\n", c.Work, runtime.NumCPU(), wd)
	tw := tabwriter.NewWriter(c.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "parallel\tmembers\tgaps\tmedian idle\tp90 idle\tmax idle\twall\tgoal\t")
	for _, r := range rows {
		g := slices.Clone(r.Gaps)
		slices.Sort(g)
		med, p90, mx := pick(g, 0.5), pick(g, 0.9), pick(g, 1)
		goal := "ok"
		if mx > 100*time.Millisecond {
			goal = "max > 100 ms"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.Parallel, r.Members, len(g), timing.Millis(med), timing.Millis(p90), timing.Millis(mx), r.Wall.Round(time.Millisecond), goal)
	}
	return rows, tw.Flush()
}

func one(ctx context.Context, home string, c Config, parallel int) (Row, error) {
	marks := filepath.Join(home, "marks")
	if err := os.MkdirAll(marks, 0o755); err != nil {
		return Row{}, err
	}
	// Each member writes when it starts and ends, by its slot.
	script := fmt.Sprintf(`f=%s/slot-$RUNLOG_SWEEP_SLOT; echo "start $(date +%%s%%N)" >> $f; sleep %.3f; echo "end $(date +%%s%%N)" >> $f`,
		marks, c.Work.Seconds())
	spec := &sweep.Spec{Name: "bench", Method: sweep.MethodGrid, Command: []string{"/bin/sh", "-c", script}}
	for i := range c.Members {
		spec.Seeds = append(spec.Seeds, int64(i))
	}
	spec.SeedKey = "seed"
	members, err := sweep.Expand(spec)
	if err != nil {
		return Row{}, err
	}
	st := sweep.NewState(spec, "", nil, members, time.Now())
	wd, _ := os.Getwd()
	x := &sweep.Exec{Home: home, State: st, Environment: runner.Environment(ctx, spec.Command), Git: gitinfo.Probe(ctx, wd)}
	start := time.Now()
	sum := sweep.Run(ctx, st, st.Members, sweep.Options{Home: home, Slots: sweep.Slots(parallel, nil, runtime.NumCPU()), Launch: x.Launch})
	row := Row{Parallel: parallel, Members: c.Members, Wall: time.Since(start)}
	if sum["finished"] != c.Members {
		return row, fmt.Errorf("sweep of %d: %s", parallel, sum)
	}
	for s := range parallel {
		gaps, err := slotGaps(filepath.Join(marks, fmt.Sprint("slot-", s)))
		if err != nil {
			return row, err
		}
		row.Gaps = append(row.Gaps, gaps...)
	}
	return row, nil
}

// slotGaps reads a slot's marks: the time from each end to the next start.
func slotGaps(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var gaps []time.Duration
	var end int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		what, t, _ := strings.Cut(sc.Text(), " ")
		ns, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q", path, sc.Text())
		}
		if what == "end" {
			end = ns
		} else if end > 0 {
			gaps = append(gaps, time.Duration(ns-end))
		}
	}
	return gaps, sc.Err()
}

func pick(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted)-1)+0.5))]
}
