package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

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
time on time axes) is drawn over the faint raw curve.`,
		Example: `  runlog plot lr-1e-2                        # loss_curves.png, lr_schedule.png in the run folder
  runlog plot lr-1e-2 lr-3e-3 --smooth 0.9   # both runs overlaid, into ./
  runlog plot k3v9 --x active --log-y -o fig/loss.pdf
  runlog plot k3v9 --keys tokens_per_sec,grad_norm --x step`,
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
	f.StringVar(&opt.Format, "format", "png", "format of files written into a folder: png, svg or pdf")
	f.IntVar(&opt.Width, "width", 0, fmt.Sprintf("width in pixels (default %d for two panels, %d for one; the learning-rate plot %d)", 2*chart.DefaultPanelWidth, chart.SinglePanelWidth, chart.ScheduleWidth))
	f.IntVar(&opt.Height, "height", 0, fmt.Sprintf("height in pixels (default %d; the learning-rate plot %d)", chart.DefaultHeight, chart.ScheduleHeight))
	return cmd
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
