package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/analyzebench"
	"github.com/runlog/runlog/internal/bench/chartbench"
	"github.com/runlog/runlog/internal/bench/compatbench"
	"github.com/runlog/runlog/internal/bench/groupbench"
	"github.com/runlog/runlog/internal/bench/manykeysbench"
	"github.com/runlog/runlog/internal/bench/serverbench"
	"github.com/runlog/runlog/internal/bench/storebench"
	"github.com/runlog/runlog/internal/bench/sweepbench"
)

// suite is what `all` runs: every benchmark's configuration, from the
// flags they share.
type suite struct {
	runlog, tinyLM   string
	python, tbPython string
	dir              string
	keep, quick      bool
	only             []string
}

// benchmarks lists what `all` runs, in order.
var benchmarks = []string{"store", "analyze", "chart", "groups", "server", "manykeys", "compat", "sweep"}

func newAll(stdout, stderr io.Writer) *cobra.Command {
	var s suite
	cmd := &cobra.Command{
		Use:   "all",
		Short: "Every benchmark in turn, each at its default sizes (~9 min, ~11 min with --python)",
		Long: `Run store, analyze, chart, groups, server, manykeys and compat in turn, each at its
default sizes, and print every table under a heading. A benchmark that fails
is reported and the others still run.

At the default sizes the whole takes about 9 minutes on a 2-core machine (11
with --python, which adds the MLflow benchmark) and needs about 1 GB of
scratch space at a time; --quick runs every benchmark at about a tenth of its
sizes, once, in about two minutes.`,
		Example: `  runlog-bench all --runlog bin/runlog --tinylm bin/tinylm
  runlog-bench all --runlog bin/runlog --quick
  runlog-bench all --runlog bin/runlog --only chart,server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd.Context(), stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.runlog, "runlog", "bin/runlog", "the runlog binary")
	f.StringVar(&s.tinyLM, "tinylm", "", "the tiny LM binary, to measure the overhead of runlog run on it")
	f.StringVar(&s.python, "python", "", "Python with the mlflow package (the MLflow benchmark is skipped without it)")
	f.StringVar(&s.tbPython, "tb-python", "", "Python with the tensorboard package, to time TensorBoard's own loader")
	f.StringVar(&s.dir, "dir", "", "scratch folder (default: the system's temporary folder)")
	f.BoolVar(&s.keep, "keep", false, "keep the scratch folders")
	f.BoolVar(&s.quick, "quick", false, "run every benchmark at about a tenth of its sizes, once")
	f.StringSliceVar(&s.only, "only", nil, "run only these, comma-separated: "+strings.Join(benchmarks, ", "))
	return cmd
}

func (s suite) run(ctx context.Context, stdout, stderr io.Writer) error {
	for _, name := range s.only {
		if !slices.Contains(benchmarks, name) {
			return fmt.Errorf("--only: no benchmark %q; there are %s", name, strings.Join(benchmarks, ", "))
		}
	}
	if _, err := os.Stat(s.runlog); err != nil {
		return fmt.Errorf("%w: build it with go build -o bin/runlog ./cmd/runlog, or pass --runlog", err)
	}
	run := map[string]func(context.Context) error{
		"store": func(ctx context.Context) error {
			c := storebench.Default
			c.Dir, c.Keep, c.Runlog, c.TinyLM = s.dir, s.keep, s.runlog, s.tinyLM
			if s.quick {
				c.Points, c.LsRuns, c.Repeat, c.TinyLMSteps = c.Points/10, c.LsRuns/10, 1, c.TinyLMSteps/4
			}
			c.Out, c.Log = stdout, stderr
			_, err := storebench.Run(ctx, c)
			return err
		},
		"analyze": func(ctx context.Context) error {
			c := analyzebench.Default
			c.Dir, c.Keep, c.Runlog = s.dir, s.keep, s.runlog
			if s.quick {
				c.Runs, c.Steps, c.Repeat = c.Runs/5, c.Steps/4, 1
			}
			c.Out, c.Log = stdout, stderr
			return analyzebench.Run(ctx, c)
		},
		"chart": func(ctx context.Context) error {
			c := chartbench.Default
			c.Dir, c.Keep, c.Runlog = s.subdir("chart"), s.keep, s.runlog
			if s.quick {
				c.Runs, c.Points, c.Repeat = c.Runs/2, c.Points/5, 1
			}
			c.Out, c.Log = stdout, stderr
			return chartbench.Run(ctx, c)
		},
		"groups": func(ctx context.Context) error {
			c := groupbench.Default
			c.Dir, c.Keep, c.Runlog = s.subdir("groups"), s.keep, s.runlog
			if s.quick {
				c.Points, c.Repeat = c.Points/10, 1
			}
			c.Out, c.Log = stdout, stderr
			return groupbench.Run(ctx, c)
		},
		"server": func(ctx context.Context) error {
			c := serverbench.Default
			c.Dir, c.Keep = s.subdir("server"), s.keep
			if s.quick {
				c.Points, c.IngestPoints, c.Runs, c.Repeat = c.Points/10, c.IngestPoints/10, c.Runs/10, 1
			}
			c.Out, c.Log = stdout, stderr
			return serverbench.Run(ctx, c)
		},
		"manykeys": func(ctx context.Context) error {
			c := manykeysbench.Default
			c.Dir, c.Keep, c.Runlog = s.dir, s.keep, s.runlog
			if s.quick {
				c.Steps, c.KeysPerStep, c.Duration, c.Repeat = c.Steps/4, c.KeysPerStep*2/5, c.Duration/4, 1
			}
			c.Out, c.Log = stdout, stderr
			_, err := manykeysbench.Run(ctx, c)
			return err
		},
		"sweep": func(ctx context.Context) error {
			c := sweepbench.Default
			c.Dir, c.Keep = s.dir, s.keep
			if s.quick {
				c.Members, c.Parallel = c.Members/3, []int{2}
			}
			c.Out, c.Log = stdout, stderr
			_, err := sweepbench.Run(ctx, c)
			return err
		},
		"compat": func(ctx context.Context) error {
			c := compatbench.Default
			c.Dir, c.Keep, c.Python, c.TBPython = s.dir, s.keep, s.python, s.tbPython
			if s.quick {
				c.Seconds, c.TBPoints = c.Seconds/10, c.TBPoints/10
			}
			c.Out, c.Log = stdout, stderr
			return compatbench.Run(ctx, c)
		},
	}
	var failed []string
	for _, name := range benchmarks {
		if len(s.only) > 0 && !slices.Contains(s.only, name) {
			continue
		}
		fmt.Fprintf(stdout, "\n## runlog-bench %s\n\n", name)
		if err := run[name](ctx); err != nil {
			fmt.Fprintf(stderr, "runlog-bench %s: %v\n", name, err)
			failed = append(failed, name)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s (errors above)", strings.Join(failed, ", "))
	}
	return ctx.Err()
}

// subdir returns the scratch folder of a benchmark that takes its folder
// as it is rather than making one inside it: a folder inside --dir, or
// none to let it make a temporary one.
func (s suite) subdir(name string) string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, name)
}
