package cli

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/tbimport"
)

func newImport(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import runs logged by other tools (TensorBoard event files)",
	}
	cmd.AddCommand(newImportTensorBoard(e))
	return cmd
}

func newImportTensorBoard(e *env) *cobra.Command {
	var project string
	cmd := &cobra.Command{
		Use:   "tensorboard DIR",
		Short: "Import the scalars of TensorBoard event files, one run per folder",
		Long: `Import the scalars that TensorBoard's SummaryWriter wrote (PyTorch's
torch.utils.tensorboard, tensorboardX, TensorFlow) into runlog. Every folder
under DIR that holds event files (files named *tfevents*) becomes a run named
by its path below DIR, such as "sweep/lr-0.1", with the steps and wall times
of its values; nested runs are grouped by their parent folder. DIR may also
be a single event file.

Importing again is safe: the same event files always map to the same runs,
and only records written since the last import are read, so you can import a
live training's logs as often as you like. Corrupt or truncated records are
reported with their file and offset, and the rest is imported.`,
		Example: `  runlog import tensorboard runs/
  runlog import tensorboard lightning_logs/ --project tinylm
  runlog import tensorboard runs/exp1/events.out.tfevents.1764201600.gpu-box.4242.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			home := e.homeDir()
			opt := tbimport.Options{Project: project, Warn: e.warn}
			bar := e.progressBar()
			opt.Progress = func(p tbimport.Progress) { bar.show(p) }
			start := time.Now()
			res, err := tbimport.Import(ctx, home, args[0], opt)
			bar.done()
			if err != nil {
				return err
			}
			read := time.Since(start)
			db, err := sqlite.Open(layout.Store(home))
			if err != nil {
				return err
			}
			defer db.Close()
			for _, r := range res.Runs {
				if r.Points == 0 && r.Values == 0 && !r.New {
					continue
				}
				if _, err := os.Stat(r.Dir); err != nil {
					continue
				}
				if _, err := ingest.Run(ctx, db, r.Dir, ingest.Options{Warn: e.warn}); err != nil {
					return fmt.Errorf("imported into %s, but indexing failed (`runlog index` retries): %w", r.Dir, err)
				}
			}
			total := time.Since(start)
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tID\tPOINTS\t")
			for _, r := range res.Runs {
				what := fmt.Sprintf("%d", r.Points)
				if r.Values > 0 {
					what += fmt.Sprintf(" + %d texts, images, histograms", r.Values)
				}
				switch {
				case r.New:
					what += " (new run)"
				case r.Points == 0 && r.Values == 0:
					what = "up to date"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t\n", r.Name, r.ID, what)
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "%d points from %s of event files in %s (read %s, indexed %s)",
				res.Points, display.Bytes(res.Bytes), total.Round(time.Millisecond), read.Round(time.Millisecond), (total - read).Round(time.Millisecond))
			if res.Points >= 100_000 && total > 0 {
				fmt.Fprintf(e.stdout, ": %.1f M points/s", float64(res.Points)/total.Seconds()/1e6)
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	cmd.Flags().StringVar(&project, "project", "", `project of the imported runs (default "default")`)
	return cmd
}

// progressBar draws the progress of an import on a terminal.
type progressBar struct {
	e     *env
	on    bool
	start time.Time
	last  time.Time
	drawn bool
}

func (e *env) progressBar() *progressBar {
	return &progressBar{e: e, on: !e.quiet && isTerminal(e.stderr), start: time.Now()}
}

func (b *progressBar) show(p tbimport.Progress) {
	if !b.on || p.Total == 0 || time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	frac := min(float64(p.Bytes)/float64(p.Total), 1)
	full := int(frac * width)
	bar := make([]rune, width)
	for i := range bar {
		bar[i] = '░'
		if i < full {
			bar[i] = '█'
		}
	}
	rate := float64(p.Points) / max(time.Since(b.start).Seconds(), 1e-3) / 1e6
	fmt.Fprintf(b.e.stderr, "\rimporting %s %3.0f%%  %s of %s  %d points  %.1f M points/s ",
		string(bar), frac*100, display.Bytes(p.Bytes), display.Bytes(p.Total), p.Points, rate)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.e.stderr)
	}
}
