package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/export"
	"github.com/runlog/runlog/internal/gitinfo"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runner"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/summary"
	"github.com/runlog/runlog/internal/sweep"
	"github.com/runlog/runlog/internal/sysmetrics"
)

// slotFlags are how a sweep spreads its members over the machine.
type slotFlags struct {
	parallel int
	gpus     string
}

func (f *slotFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&f.parallel, "parallel", "j", 0, "members run at once (default 1, or one per GPU with --gpus)")
	cmd.Flags().StringVar(&f.gpus, "gpus", "", "GPUs to spread members over, as 0,1,2,3 or auto (nvidia-smi); each member sees one (CUDA_VISIBLE_DEVICES)")
}

func (f *slotFlags) slots(ctx context.Context) ([]sweep.Slot, error) {
	var gpus []string
	switch f.gpus {
	case "":
	case "auto":
		found, err := sysmetrics.QueryGPUs(ctx)
		if err != nil || len(found) == 0 {
			return nil, fmt.Errorf("--gpus auto: no GPU found (%v); leave --gpus out to run on the CPU", err)
		}
		for _, g := range found {
			gpus = append(gpus, strconv.Itoa(g.Index))
		}
	default:
		for g := range strings.SplitSeq(f.gpus, ",") {
			g = strings.TrimSpace(g)
			if g == "" {
				return nil, fmt.Errorf("--gpus %q: want GPU indices such as 0,1,2,3, or auto", f.gpus)
			}
			gpus = append(gpus, g)
		}
	}
	if f.parallel < 0 {
		return nil, fmt.Errorf("--parallel %d: want 1 or more", f.parallel)
	}
	n := f.parallel
	if n == 0 {
		n = max(1, len(gpus))
	}
	return sweep.Slots(n, gpus, runtime.NumCPU()), nil
}

func newSweep(e *env) *cobra.Command {
	var sf slotFlags
	var dryRun bool
	var name string
	cmd := &cobra.Command{
		Use:   "sweep FILE",
		Short: "Run a sweep: one command over a grid, random draws, variants and seeds",
		Long: `Run a sweep: the sweep file (YAML or JSON, W&B's sweep keys plus runlog's
name, config, variants and seeds; see docs/sweeps.md) names a command, a base
config and what varies. Each member is an ordinary run, as runlog run makes
it, with group = the sweep's name, a name from what varies (lr=3e-3 seed=1)
and sweep: {name, member} in its config. Its config reaches the program in
RUNLOG_CONFIG, and as arguments where the command says ${args}.

--parallel N runs N members at once; on a CPU machine each gets its share of
the cores (OMP_NUM_THREADS, MKL_NUM_THREADS), with --gpus each sees its own
GPU (CUDA_VISIBLE_DEVICES). A member that fails does not stop the others.
Ctrl-C stops every member (a second one kills them); runlog sweep resume
then runs what is missing. The sweep is recorded in the home
(sweeps/NAME.json): runlog sweep ls and runlog sweep show list it.`,
		Example: `  runlog sweep examples/tinylm/sweep.yaml --dry-run
  runlog sweep sweep.yaml --parallel 2
  runlog sweep sweep.yaml --gpus auto
  runlog sweep ls
  runlog sweep show tinylm-lr
  runlog sweep resume tinylm-lr`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, src, err := sweep.ReadFile(args[0])
			if err != nil {
				return err
			}
			if name != "" {
				spec.Name = name
			}
			if spec.Name == "" {
				spec.Name = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
			}
			if err := sweep.CheckName(spec.Name); err != nil {
				return fmt.Errorf("%w; give it a name in the file or with --name", err)
			}
			members, err := sweep.Expand(spec)
			if err != nil {
				return err
			}
			if dryRun {
				return e.sweepDryRun(spec, members)
			}
			slots, err := sf.slots(cmd.Context())
			if err != nil {
				return err
			}
			home := e.homeDir()
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			unlock, err := sweep.Lock(home, spec.Name)
			if err != nil {
				return fmt.Errorf("sweep %s: %w", spec.Name, err)
			}
			defer unlock()
			if _, err := os.Stat(sweep.Path(home, spec.Name)); err == nil {
				return fmt.Errorf("sweep %s exists: `runlog sweep resume %s` runs what it is missing, or give this one another name (--name)", spec.Name, spec.Name)
			}
			file, _ := filepath.Abs(args[0])
			st := sweep.NewState(spec, file, src, members, e.now())
			if err := st.Save(home, e.now()); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "runlog: sweep %s: %d members, %d at a time\n", st.Name, len(st.Members), len(slots))
			return e.runSweep(cmd.Context(), st, st.Members, slots, nil)
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the members and their commands; run nothing")
	cmd.Flags().StringVar(&name, "name", "", "name of the sweep (default: the file's name key, else the file's base name)")
	cmd.AddCommand(newSweepLs(e), newSweepShow(e), newSweepResume(e))
	return cmd
}

// sweepDryRun prints the members a sweep would run.
func (e *env) sweepDryRun(spec *sweep.Spec, members []*sweep.Member) error {
	fmt.Fprintf(e.stdout, "sweep %s: %d members (method %s)\n", spec.Name, len(members), spec.Method)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tNAME\tCOMMAND")
	files := sweep.Files{ArgsJSON: "<args.json>", Config: "<config.json>"}
	for _, m := range members {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Index, m.Name, strings.Join(sweep.Command(spec.Command, spec.Program, m, files), " "))
	}
	return tw.Flush()
}

// runSweep runs the members todo and says how the sweep went.
func (e *env) runSweep(ctx context.Context, st *sweep.State, todo []*sweep.MemberState, slots []sweep.Slot, resume map[int]sweep.Checkpoint) error {
	home := e.homeDir()
	x := &sweep.Exec{Home: home, State: st, Warn: e.warn, Resume: resume}
	if len(todo) > 0 {
		// What every member runs with and from is the same: probe it once,
		// not in each member's start (docs/sweeps.md, the idle benchmark).
		files := sweep.Files{ArgsJSON: "args.json", Config: "config.json"}
		x.Environment = runner.Environment(ctx, sweep.Command(st.Command, st.Program, &todo[0].Member, files))
		wd, _ := os.Getwd()
		x.Git = gitinfo.Probe(ctx, wd)
	}
	if st.Early != nil && st.Metric != nil {
		x.Median = sweep.NewMedian(st.Metric, *st.Early)
		e.seedMedian(ctx, x.Median, st, todo)
	}
	// Indexing an ended member and writing its files happens beside the
	// sweep, one member at a time, so that no slot waits for it.
	ended := make(chan string, len(todo))
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.finishMembers(ctx, ended)
	}()
	sum := sweep.Run(ctx, st, todo, sweep.Options{
		Home: home, Slots: slots, Launch: x.Launch, Log: e.stderr, Warn: e.warn, Now: e.now,
		OnEnd: func(m *sweep.MemberState) { ended <- m.RunID },
	})
	close(ended)
	<-done
	msg := fmt.Sprintf("sweep %s: %s", st.Name, sum)
	if ctx.Err() != nil && sum[sweep.StatePending] > 0 {
		return fmt.Errorf("%s; interrupted: `runlog sweep resume %s` runs the rest", msg, st.Name)
	}
	if n := sum[runfmt.StatusFailed] + sum[runfmt.StatusKilled] + sum[runfmt.StatusCrashed] + sum[sweep.StateRunning] + sum[sweep.StatePending]; n > 0 {
		return fmt.Errorf("%s; `runlog sweep show %s` lists them, `runlog sweep resume %s` runs the %d again", msg, st.Name, st.Name, n)
	}
	fmt.Fprintf(e.stderr, "runlog: %s; see `runlog sweep show %s`\n", msg, st.Name)
	return nil
}

// seedMedian gives the median rule the history of the members that ended
// before this run of the sweep (finished or stopped, and not run again), so
// that a resumed sweep judges its members by them too.
func (e *env) seedMedian(ctx context.Context, md *sweep.Median, st *sweep.State, todo []*sweep.MemberState) {
	again := map[int]bool{}
	for _, m := range todo {
		again[m.Index] = true
	}
	var ended []*sweep.MemberState
	for _, m := range st.Members {
		if m.RunID != "" && !again[m.Index] && (m.State == runfmt.StatusFinished || m.State == runfmt.StatusStopped) {
			ended = append(ended, m)
		}
	}
	if len(ended) == 0 {
		return
	}
	db, err := e.open(ctx)
	if err != nil {
		e.warn(fmt.Errorf("early stopping: the members that ran before are not compared with: %w", err))
		return
	}
	defer db.Close()
	for _, m := range ended {
		p, err := db.Points(ctx, m.RunID, st.Metric.Name, store.PointsOptions{})
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				e.warn(fmt.Errorf("early stopping: member %d: %w", m.Index, err))
			}
			continue
		}
		md.Seed(m.Index, p.Steps, p.Values)
	}
}

// finishMembers indexes each ended member's run and writes its files, as
// runlog run does when its run ends.
func (e *env) finishMembers(ctx context.Context, ended <-chan string) {
	ctx = context.WithoutCancel(ctx)
	var db *sqlite.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	for id := range ended {
		if db == nil {
			var err error
			if db, err = sqlite.Open(layout.Store(e.homeDir())); err != nil {
				e.warn(fmt.Errorf("index run %s: %w", id, err))
				db = nil
				continue
			}
		}
		if _, err := ingest.Home(ctx, db, e.homeDir(), ingest.Options{Warn: e.warn}); err != nil {
			e.warn(fmt.Errorf("index run %s: %w", id, err))
			continue
		}
		r, err := db.Run(ctx, id)
		if err != nil {
			continue // it never began: nothing to write
		}
		if _, err := export.Files(ctx, db, r, export.Options{Now: e.now()}); err != nil {
			e.warn(fmt.Errorf("write the files of run %s: %w", r.ID, err))
		}
		if _, err := chart.Files(ctx, db, []store.Run{r}, "", chart.Options{}); err != nil && !errors.Is(err, chart.ErrNoData) {
			e.warn(fmt.Errorf("draw the plots of run %s: %w", r.ID, err))
		}
	}
}

func newSweepResume(e *env) *cobra.Command {
	var sf slotFlags
	cmd := &cobra.Command{
		Use:   "resume NAME",
		Short: "Run what a sweep is missing: members not started, failed, killed or crashed",
		Long: `Run the members of a sweep that did not finish: those never started, and
those that failed, were killed or crashed (the runner itself killed, too).
A member whose run began continues that run from its latest checkpoint, as
runlog run --resume does, where the program takes RUNLOG_CHECKPOINT.
Members that finished or were stopped by the early stopping rule are kept,
and the median rule judges the members run again by their history too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			slots, err := sf.slots(ctx)
			if err != nil {
				return err
			}
			home := e.homeDir()
			unlock, err := sweep.Lock(home, args[0])
			if err != nil {
				return fmt.Errorf("sweep %s: %w", args[0], err)
			}
			defer unlock()
			st, err := sweep.Load(home, args[0])
			if err != nil {
				return err
			}
			var todo []*sweep.MemberState
			resume := map[int]sweep.Checkpoint{}
			for _, m := range st.Members {
				switch m.State {
				case runfmt.StatusFinished, runfmt.StatusStopped:
					continue
				}
				todo = append(todo, m)
				if m.RunID == "" {
					continue
				}
				if _, err := os.Stat(layout.RunLog(home, m.RunID)); err != nil {
					continue // it never began
				}
				o := runner.Options{Resume: m.RunID}
				if _, err := e.resumePoint(ctx, &o, "latest"); err != nil {
					e.warn(fmt.Errorf("member %d: %w", m.Index, err))
				} else if o.Checkpoint != "" {
					resume[m.Index] = sweep.Checkpoint{Path: o.Checkpoint, Step: o.CkptStep}
				}
			}
			if len(todo) == 0 {
				fmt.Fprintf(e.stderr, "runlog: sweep %s has nothing to run: %s\n", st.Name, sweep.Summary(st.Counts()))
				return nil
			}
			fmt.Fprintf(e.stderr, "runlog: sweep %s: resuming %d of %d members, %d at a time\n", st.Name, len(todo), len(st.Members), len(slots))
			return e.runSweep(ctx, st, todo, slots, resume)
		},
	}
	sf.add(cmd)
	return cmd
}

func newSweepLs(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the sweeps of the home",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir()
			names, err := sweep.List(home)
			if err != nil {
				return err
			}
			type row struct {
				Name    string         `json:"name"`
				Method  string         `json:"method"`
				Members int            `json:"members"`
				States  map[string]int `json:"states"`
				Running bool           `json:"running"`
				Created string         `json:"created"`
			}
			var rows []row
			for _, n := range names {
				st, err := sweep.Load(home, n)
				if err != nil {
					e.warn(err)
					continue
				}
				running := sweepRunning(home, n)
				rows = append(rows, row{n, st.Method, len(st.Members), memberStates(st, running), running, st.Created.Local().Format("2006-01-02 15:04")})
			}
			if asJSON {
				if rows == nil {
					rows = []row{}
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(e.stderr, "no sweeps in this home; runlog sweep FILE runs one")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tMETHOD\tMEMBERS\tSTATES\tCREATED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Name, r.Method, r.Members, statesText(r.States), r.Created)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// sweepRunning reports whether a process runs the sweep now.
func sweepRunning(home, name string) bool {
	unlock, err := sweep.Lock(home, name)
	if err != nil {
		return errors.Is(err, sweep.ErrLocked)
	}
	unlock()
	return false
}

// memberStates counts the members by state; members recorded as running
// while no process runs the sweep crashed with it.
func memberStates(st *sweep.State, running bool) map[string]int {
	c := st.Counts()
	if n := c[sweep.StateRunning]; n > 0 && !running {
		c[runfmt.StatusCrashed] += n
		delete(c, sweep.StateRunning)
	}
	return c
}

var stateOrder = []string{runfmt.StatusFinished, runfmt.StatusStopped, sweep.StateRunning, runfmt.StatusFailed,
	runfmt.StatusKilled, runfmt.StatusCrashed, sweep.StatePending}

func statesText(c map[string]int) string {
	var parts []string
	for _, s := range stateOrder {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// memberRow is a member of a sweep as `sweep show` lists it.
type memberRow struct {
	Index  int      `json:"index"`
	Name   string   `json:"name"`
	RunID  string   `json:"run_id,omitempty"`
	State  string   `json:"state"`
	Steps  int64    `json:"steps"`
	Best   *float64 `json:"best,omitempty"` // of the sweep's metric
	BestAt *int64   `json:"best_step,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

func newSweepShow(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a sweep: each member's state and best metric",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			home := e.homeDir()
			st, err := sweep.Load(home, args[0])
			if err != nil {
				return err
			}
			running := sweepRunning(home, st.Name)
			rows := make([]memberRow, len(st.Members))
			var db *sqlite.DB
			if _, err := os.Stat(layout.Store(home)); err == nil {
				if db, err = e.open(ctx); err != nil {
					e.warn(err)
					db = nil
				} else {
					defer db.Close()
				}
			}
			for i, m := range st.Members {
				row := memberRow{Index: m.Index, Name: m.Name, RunID: m.RunID, State: m.State, Reason: m.Reason}
				if row.State == sweep.StateRunning && !running {
					row.State = runfmt.StatusCrashed
				}
				if db != nil && m.RunID != "" {
					if r, err := db.Run(ctx, m.RunID); err == nil {
						if s := summary.Status(&r, e.now()); s != runfmt.StatusRunning || running {
							row.State = s
						}
						row.Steps = max(r.MaxStep, 0)
						if st.Metric != nil {
							row.Best, row.BestAt = bestOf(ctx, db, r.ID, st.Metric)
						}
					}
				}
				rows[i] = row
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"name": st.Name, "method": st.Method, "command": st.Command,
					"metric": st.Metric, "running": running, "members": rows})
			}
			return e.sweepTable(st, rows, running)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// bestOf returns the best value of the metric a run logged, and its step.
func bestOf(ctx context.Context, st store.Store, runID string, m *sweep.Metric) (*float64, *int64) {
	found, _, err := st.FindSeries(ctx, runID, store.SeriesQuery{Keys: []string{m.Name}, Limit: 1})
	if err != nil || len(found) == 0 || found[0].Stats.Finite == 0 {
		return nil, nil
	}
	p := found[0].Stats.Min
	if m.Goal == "maximize" {
		p = found[0].Stats.Max
	}
	v, step := p.Value, p.Step
	return &v, &step
}

func (e *env) sweepTable(st *sweep.State, rows []memberRow, running bool) error {
	c := map[string]int{}
	best := -1
	for i, r := range rows {
		c[r.State]++
		if r.Best != nil && st.Metric != nil && (best < 0 || st.Metric.Better(*r.Best, *rows[best].Best)) {
			best = i
		}
	}
	state := "not running"
	if running {
		state = "running"
	}
	fmt.Fprintf(e.stdout, "sweep %s (%s, %d members, %s): %s\n", st.Name, st.Method, len(rows), state, statesText(c))
	fmt.Fprintf(e.stdout, "command: %s\n", strings.Join(st.Command, " "))
	metric := "BEST"
	if st.Metric != nil {
		metric = fmt.Sprintf("BEST %s (%s)", st.Metric.Name, strings.TrimSuffix(st.Metric.Goal, "imize"))
		if best >= 0 {
			fmt.Fprintf(e.stdout, "best: member %d (%s), %s %s at step %d\n", rows[best].Index, rows[best].Name, st.Metric.Name, num(*rows[best].Best), *rows[best].BestAt)
		}
	}
	fmt.Fprintln(e.stdout)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tNAME\tSTATE\tRUN\tSTEPS\t%s\tNOTE\n", metric)
	for _, r := range rows {
		b := "-"
		if r.Best != nil && !math.IsNaN(*r.Best) {
			b = num(*r.Best)
		}
		id := r.RunID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Index, r.Name, paint(r.State, r.State, e.colors()), id, r.Steps, b, clip(firstLine(r.Reason), 60))
	}
	return tw.Flush()
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
