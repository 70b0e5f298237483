package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/export"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runner"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// exitCode is an error that makes runlog exit with a code and no message:
// `runlog run` exits as the program it ran did.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit code %d", int(c)) }

func newRun(e *env) *cobra.Command {
	var o runner.Options
	var configFile, from string
	var sets []string
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARG...]",
		Short: "Run a training program as a tracked run",
		Long: `Run a training program as a run: record its config, command line, git commit
(with the uncommitted diff as an artifact), host and Python/PyTorch/GPU
versions; capture its output into training.log while showing it; log CPU,
memory and GPU use as sys/* series; watch its losses for NaN and spikes;
record how it ended; and write the run's metrics.csv, metrics.json,
summary.json, config.json, loss_curves.png and lr_schedule.png when it ends.

The program gets the run through its environment: RUNLOG_HOME, RUNLOG_RUN_ID,
RUNLOG_RUN_DIR and RUNLOG_CONFIG (a JSON file with the final config). The
runlog clients (Python, Go) attach to the run by themselves. A program that
uses no client is tracked from what it prints: lines that are JSON objects
({"step": 10, "loss": 2.3}) and lines of key=value pairs with a step
(step=10 loss=2.3 lr=3e-4) become metrics (see docs/runner.md).

On a terminal a status line shows the step, the latest losses, steps/s and
the time left, when the config says how many steps there are (max_steps,
total_steps, num_steps, …). Ctrl-C or SIGTERM stop the program (a second one
kills it); the run then ends as killed. runlog exits with the program's exit
code.

--resume continues a run: its latest checkpoint (or --from best) is handed
to the program in RUNLOG_CHECKPOINT (and RUNLOG_CHECKPOINT_STEP), and points
the run logged after that step are superseded, not duplicated. The program
must restore it and continue at the next step; one that starts again at
step 0 instead is told about (an alert), and its new points supersede the
earlier ones from there on.`,
		Example: `  runlog run --name baseline --config cfg.json -- python train.py
  runlog run --set optim.lr=3e-3 --set model.layers=6 --tag sweep -- python train.py
  runlog run --stop-on-nan --keep-last 3 --keep-best -- python train.py
  runlog run --resume baseline -- python train.py
  runlog run -- ./train.sh   # no client: metrics parsed from its output`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 0 {
				return fmt.Errorf("unexpected arguments %q before --", args[:dash])
			}
			switch o.Parse {
			case "auto", "on", "off":
			default:
				return fmt.Errorf("--parse %q: want auto, on or off", o.Parse)
			}
			switch from {
			case "latest", "best":
			default:
				return fmt.Errorf("--from %q: want latest or best", from)
			}
			o.Command = args
			o.Home = e.home
			o.Stdin, o.Stdout, o.Stderr = os.Stdin, e.stdout, e.stderr
			o.StatusLine = !e.quiet && isTerminal(os.Stderr)
			o.Warn = e.warn
			ctx := cmd.Context()
			var base map[string]any // a resumed run keeps its config; --config and --set change it
			if o.Resume != "" {
				var err error
				if base, err = e.resumePoint(ctx, &o, from); err != nil {
					return err
				}
			}
			cfg, err := runner.BuildConfig(base, configFile, sets)
			if err != nil {
				return err
			}
			o.Config = cfg
			// The program's output must reach the terminal as it comes.
			o.Stdout = e.unbuffered()
			res, err := runner.Run(context.WithoutCancel(ctx), o)
			if err != nil {
				return err
			}
			e.finishRun(ctx, res)
			if res.ExitCode != 0 {
				return exitCode(res.ExitCode)
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVar(&o.Project, "project", "", "project of the run (default \"default\")")
	fl.StringVar(&o.Name, "name", "", "name of the run")
	fl.StringVar(&o.Group, "group", "", "group of the run (a sweep, a comparison)")
	fl.StringArrayVar(&o.Tags, "tag", nil, "a tag (repeatable)")
	fl.StringVar(&o.Notes, "notes", "", "notes about the run")
	fl.StringVar(&o.Hypothesis, "hypothesis", "", "what the run is meant to show")
	fl.StringVar(&configFile, "config", "", "JSON config file of the run")
	fl.StringArrayVar(&sets, "set", nil, "override a config value: key.path=value (repeatable; numbers, bools and JSON are typed)")
	fl.StringVar(&o.Resume, "resume", "", "continue this run (id, id prefix or name)")
	fl.StringVar(&from, "from", "latest", "with --resume: the checkpoint to continue from, latest or best")
	fl.Int64Var(&o.TotalSteps, "total-steps", 0, "steps the training will take, for the ETA (default: from the config)")
	fl.StringVar(&o.Parse, "parse", "auto", "read metrics from the output: auto (unless a client logs), on or off")
	fl.DurationVar(&o.SysInterval, "sys-interval", 5*time.Second, "how often to log CPU, memory and GPU use")
	fl.BoolVar(&o.StopOnNaN, "stop-on-nan", false, "stop the program when a loss becomes NaN or infinite")
	fl.Float64Var(&o.SpikeFactor, "spike-factor", 10, "alert when a loss exceeds this many times its recent median (0: never)")
	fl.IntVar(&o.KeepLast, "keep-last", 0, "keep only the last N checkpoint files (0: keep all)")
	fl.BoolVar(&o.KeepBest, "keep-best", false, "with --keep-last: never delete the best-validation checkpoint")
	return cmd
}

// resumePoint finds the run to resume and the checkpoint to continue
// from, and returns the run's config.
func (e *env) resumePoint(ctx context.Context, o *runner.Options, from string) (map[string]any, error) {
	st, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	r, err := e.resolve(ctx, st, o.Resume)
	if err != nil {
		return nil, err
	}
	o.Resume = r.ID
	var cfg map[string]any
	if err := json.Unmarshal(r.Config, &cfg); err != nil || cfg == nil {
		cfg = map[string]any{}
	}
	arts, err := st.Artifacts(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var pick *store.Artifact
	if from == "best" {
		sum, err := summary.Load(ctx, st, r, e.now())
		if err != nil {
			return nil, err
		}
		if b := sum.Best; b != nil {
			for i := range arts {
				if arts[i].Path == b.Path {
					pick = &arts[i]
				}
			}
		}
	} else {
		for i := range arts {
			a := &arts[i]
			if a.Kind == runfmt.KindCheckpoint && !a.Superseded && a.Step != nil && exists(r.Path, a.Path) && (pick == nil || *a.Step >= *pick.Step) {
				pick = a
			}
		}
	}
	if pick == nil || pick.Step == nil || !exists(r.Path, pick.Path) {
		e.warn(fmt.Errorf("run %s has no %s checkpoint file to continue from; the program starts without one", r.ID, from))
		return cfg, nil
	}
	o.Checkpoint = filepath.Join(r.Path, filepath.FromSlash(pick.Path))
	if filepath.IsAbs(pick.Path) {
		o.Checkpoint = pick.Path
	}
	o.CkptStep = *pick.Step
	fmt.Fprintf(e.stderr, "runlog: resuming run %s from %s (step %d)\n", r.ID, pick.Path, o.CkptStep)
	return cfg, nil
}

func exists(dir, path string) bool {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, filepath.FromSlash(path))
	}
	_, err := os.Stat(path)
	return err == nil
}

// finishRun indexes the ended run, writes its files and says how it went.
func (e *env) finishRun(ctx context.Context, res runner.Result) {
	st, err := e.open(ctx)
	if err != nil {
		e.warn(fmt.Errorf("index run %s: %w", res.RunID, err))
		return
	}
	defer st.Close()
	r, err := st.Run(ctx, res.RunID)
	if err != nil {
		e.warn(err)
		return
	}
	if _, err := export.Files(ctx, st, r, export.Options{Now: e.now()}); err != nil {
		e.warn(fmt.Errorf("write the files of run %s: %w", r.ID, err))
	}
	if _, err := chart.Files(ctx, st, []store.Run{r}, "", chart.Options{}); err != nil && !errors.Is(err, chart.ErrNoData) {
		e.warn(fmt.Errorf("draw the plots of run %s: %w", r.ID, err))
	}
	fmt.Fprintf(e.stderr, "runlog: run %s %s after %s (exit code %d); see `runlog show %s`\n",
		r.ID, res.Status, duration(r.Wallclock()), res.ExitCode, r.ID)
}
