package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

func newPlot(e *env) *cobra.Command {
	var (
		opt    chart.Options
		keys   []string
		x      string
		output string
		by     []string
		band   string
		value  string
	)
	cmd := &cobra.Command{
		Use:   "plot RUN...",
		Short: "Draw loss curves and the learning-rate schedule of runs to PNG, SVG or PDF",
		Long: `Draw the loss curves of one or more runs, by gradient step and by wallclock
time, and their learning-rate schedule:

  loss_curves.png   train and validation loss, a panel by step and one by
                    wallclock time (--x picks other axes)
  lr_schedule.png   the learning rate by step (when the runs log one)

With one run the files go into its run folder, beside metrics.csv; with
several runs, into the current folder, one colour per run. -o DIR/ names
another folder; -o FILE.png (or .svg, .pdf) writes the loss curves alone
to that file. --keys draws other series instead of the losses, into a file
named after them (tokens_per_sec.png, or the -o FILE), with no schedule.
The paths of the files written are printed.

Curves are downsampled to the chart's width keeping every spike, so runs of
millions of points draw in well under a second. Points a resume superseded
are not drawn. NaN and infinite values leave a gap; where a run first
diverged is marked with a dotted line and said in the legend. With
--smooth, an exponential moving average (TensorBoard's slider; weighted by
time on time axes) is drawn over the faint raw curve.

--group-by KEY (a config path such as lr, several comma-separated, or group)
draws one line per group of runs instead — the mean of its runs, aligned by
step or interpolated in time, in a band of ±1 standard deviation (--band
minmax: the range), a colour per group, n in the legend; a run that became
NaN is left out of the mean and counted. With a numeric KEY it also writes
METRIC_vs_KEY.png: each run's final validation loss (--value best: its
best) against the value, the group means joined, log-x when the values
span two decades.`,
		Example: `  runlog plot lr-1e-2                        # loss_curves.png, lr_schedule.png in the run folder
  runlog plot lr-1e-2 lr-3e-3 --smooth 0.9   # both runs overlaid, into ./
  runlog plot k3v9 --x active --log-y -o fig/loss.pdf
  runlog plot k3v9 --keys tokens_per_sec,grad_norm --x step
  runlog plot a1 a2 b1 b2 c1 c2 --group-by lr -o plots/   # loss_curves.png, val_loss_vs_lr.png`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.X = series.Axis(x)
			if _, err := opt.Axes(); err != nil {
				return err
			}
			if opt.Smooth < 0 || opt.Smooth >= 1 {
				return fmt.Errorf("--smooth %v: use a weight from 0 (none) to below 1 (0.9 smooths much)", opt.Smooth)
			}
			opt.Keys = splitKeys(keys)
			minmax, err := parseBand(band)
			if err != nil {
				return err
			}
			if value != "final" && value != "best" {
				return fmt.Errorf("--value %q: use final or best", value)
			}
			ctx := cmd.Context()
			st, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var runs []store.Run
			seen := map[string]bool{}
			for _, ref := range args {
				r, err := e.resolve(ctx, st, ref)
				if err != nil {
					return err
				}
				if !seen[r.ID] {
					seen[r.ID] = true
					runs = append(runs, r)
				}
			}

			file, dir, err := plotTarget(output, runs)
			if err != nil {
				return err
			}
			if g := analyze.ParseGroupBy(by); len(g) > 0 {
				if dir == "" {
					dir = filepath.Dir(file)
				} else if len(runs) == 1 && output == "" {
					dir = "."
				}
				paths, err := groupPlots(ctx, st, runs, groupPlot{by: g, minmax: minmax, best: value == "best", opt: opt, dir: dir, file: file})
				for _, p := range paths {
					fmt.Fprintln(e.stdout, p)
				}
				return err
			}
			if len(runs) > len(chart.Palette) {
				e.warn(fmt.Errorf("%d runs, %d colours: from the %dth run on colours repeat, dotted (--group-by draws groups)", len(runs), len(chart.Palette), len(chart.Palette)+1))
			}
			if file != "" {
				if opt.Format, err = chart.FormatOf(file); err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					return err
				}
				fig, err := chart.Curves(ctx, st, runs, opt)
				if err != nil {
					return err
				}
				if err := fig.WriteFile(file); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, file)
				return nil
			}
			if len(opt.Keys) > 0 {
				fig, err := chart.Curves(ctx, st, runs, opt)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				path := filepath.Join(dir, keysFileName(opt.Keys)+"."+formatOr(opt.Format))
				if err := fig.WriteFile(path); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, path)
				return nil
			}
			paths, err := chart.Files(ctx, st, runs, dir, opt)
			for _, p := range paths {
				fmt.Fprintln(e.stdout, p)
			}
			if errors.Is(err, chart.ErrNoData) {
				return fmt.Errorf("%w; `runlog show RUN` lists a run's series, --keys draws them", err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&keys, "keys", nil, "series to draw, comma-separated (default: train and validation loss)")
	f.StringVar(&x, "x", "both", "x-axis: step, wallclock, active, time (dates) or both (step and wallclock)")
	f.Float64Var(&opt.Smooth, "smooth", 0, "EMA smoothing weight from 0 (none) to below 1, drawn over the faint raw curve")
	f.BoolVar(&opt.LogY, "log-y", false, "logarithmic y-axis")
	f.StringVarP(&output, "output", "o", "", "FILE.png|.svg|.pdf for the loss curves alone, or DIR/ for all files (default: the run folder for one run, ./ for several)")
	f.StringSliceVar(&by, "group-by", nil, "one line per group of runs sharing these config values (dotted paths, comma-separated), or group: their mean in a band")
	f.StringVar(&band, "band", "std", "with --group-by, the band: std (±1 standard deviation) or minmax")
	f.StringVar(&value, "value", "final", "with --group-by, the value of each run against the config value: final or best")
	f.StringVar(&opt.Format, "format", "png", "format of files written into a folder: png, svg or pdf")
	f.IntVar(&opt.Width, "width", 0, fmt.Sprintf("width in pixels (default %d for two panels, %d for one; the learning-rate plot %d)", 2*chart.DefaultPanelWidth, chart.SinglePanelWidth, chart.ScheduleWidth))
	f.IntVar(&opt.Height, "height", 0, fmt.Sprintf("height in pixels (default %d; the learning-rate plot %d)", chart.DefaultHeight, chart.ScheduleHeight))
	return cmd
}

// groupPlot says what groupPlots draws.
type groupPlot struct {
	by     []string
	minmax bool
	best   bool // the sweep chart shows best values, not final ones
	opt    chart.Options
	dir    string // where the files go
	file   string // the band chart alone to this file, if set
}

// groupPlots draws runs grouped by g.by: the band chart (loss_curves, or
// the keys' name) and, when the first numeric key has several values,
// METRIC_vs_KEY; it returns the paths written.
func groupPlots(ctx context.Context, st store.Store, runs []store.Run, g groupPlot) ([]string, error) {
	groups, err := analyze.GroupRuns(runs, g.by)
	if err != nil {
		return nil, err
	}
	cg := chart.Groups{MinMax: g.minmax}
	groupOf := make([]int, len(runs))
	for gi, gr := range groups {
		cg.Labels = append(cg.Labels, gr.Label(g.by))
		cg.Members = append(cg.Members, gr.Members)
		for _, m := range gr.Members {
			groupOf[m] = gi
		}
	}
	fig, err := chart.GroupCurves(ctx, st, runs, cg, g.opt)
	if err != nil {
		return nil, err
	}
	format := formatOr(g.opt.Format)
	if g.file != "" {
		if format, err = chart.FormatOf(g.file); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return nil, err
	}
	path := g.file
	if path == "" {
		name := chart.LossCurves
		if len(g.opt.Keys) > 0 {
			name = keysFileName(g.opt.Keys)
		}
		path = filepath.Join(g.dir, name+"."+format)
	}
	if err := fig.WriteFile(path); err != nil {
		return nil, err
	}
	written := []string{path}
	if g.file != "" {
		return written, nil
	}
	// The metric against the first numeric key that has two values.
	for k, key := range g.by {
		xs := make([]float64, len(runs))
		values := map[float64]bool{}
		numeric := true
		for _, gr := range groups {
			x, ok := analyze.Numeric(gr.Values[k])
			numeric = numeric && ok
			values[x] = true
			for _, m := range gr.Members {
				xs[m] = x
			}
		}
		if !numeric || len(values) < 2 {
			continue
		}
		metric := fig.Keys[len(fig.Keys)-1] // the validation loss when logged
		if len(g.opt.Keys) > 0 {
			metric = fig.Keys[0]
		}
		sw, err := chart.SweepChart(ctx, st, runs, chart.SweepData{Param: key, Key: metric, Best: g.best,
			Goal: analyze.Goal(metric, ""), X: xs, Group: groupOf, Labels: cg.Labels})
		if err != nil {
			return written, err
		}
		p := filepath.Join(g.dir, keysFileName([]string{metric + "_vs_" + key})+"."+format)
		if err := sw.WriteFile(p); err != nil {
			return written, err
		}
		return append(written, p), nil
	}
	return written, nil
}

// plotTarget says where plot writes: a file, or a folder.
func plotTarget(output string, runs []store.Run) (file, dir string, err error) {
	switch {
	case output == "" && len(runs) == 1 && runs[0].Path != "":
		return "", runs[0].Path, nil
	case output == "":
		return "", ".", nil
	case strings.HasSuffix(output, "/") || strings.HasSuffix(output, string(filepath.Separator)):
		return "", output, nil
	}
	if fi, err := os.Stat(output); err == nil && fi.IsDir() {
		return "", output, nil
	}
	if filepath.Ext(output) == "" {
		return "", output, nil
	}
	return output, "", nil
}

// splitKeys splits comma-separated keys, dropping empty ones.
func splitKeys(in []string) []string {
	var out []string
	for _, k := range in {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// keysFileName names the chart of keys: the keys joined by '+', with what
// cannot be in a file name replaced.
func keysFileName(keys []string) string {
	name := strings.Join(keys, "+")
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' || strings.ContainsRune(`*?"<>|`, r) {
			return '_'
		}
		return r
	}, name)
}

func formatOr(f string) string {
	if f == "" {
		return chart.PNG
	}
	return f
}
