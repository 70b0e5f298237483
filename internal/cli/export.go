package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/export"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

func newExport(e *env) *cobra.Command {
	var format, dir string
	plots, media := true, true
	cmd := &cobra.Command{
		Use:   "export RUN...",
		Short: "Write a run's config.json, metrics.csv, metrics.json, summary.json, media.json and plots",
		Long: `Write the files of the prototype's run folders for each RUN:

  config.json    the run's config
  metrics.csv    one row per step: step, wallclock_time (s since the run first
                 started), elapsed_time (minutes), train_loss, val_loss,
                 val_perplexity, learning_rate, tokens_per_sec, then the run's
                 other keys in name order; empty where a key was not logged
  metrics.json   the same rows as JSON objects, with unix time and active time
  summary.json   statistics of every series, best checkpoint, run metadata
  loss_curves.png  train and validation loss by step and by wallclock time
  lr_schedule.png  the learning rate by step (see runlog plot)
  media.json     the run's rich values in key and step order: texts, histograms
                 (edges, counts), and its images, tables and HTML files (path,
                 sha256, size, width and height or rows and columns); with -o
                 the files are copied under media/ beside it, checked against
                 their SHA-256

NaN and infinities are written as NaN, inf and -inf in CSV and as the strings
"NaN", "Infinity" and "-Infinity" in JSON. Files go into the run folder unless
-o names another; with several runs, each gets a subfolder named by its id.`,
		Example: `  runlog export k3v9
  runlog export k3v9 --format csv -o results/
  runlog export baseline high-lr -o results/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var formats []string
			switch format {
			case "all", "":
			case export.CSV, export.JSON:
				formats = []string{format}
			default:
				return fmt.Errorf("unknown --format %q: use csv, json or all", format)
			}
			ctx := cmd.Context()
			st, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, ref := range args {
				r, err := e.resolve(ctx, st, ref)
				if err != nil {
					return err
				}
				out := dir
				if out != "" && len(args) > 1 {
					out = out + "/" + r.ID
				}
				files, err := export.Files(ctx, st, r, export.Options{Dir: out, Formats: formats, Now: e.now()})
				for _, f := range files {
					fmt.Fprintln(e.stdout, f)
				}
				if err != nil {
					return fmt.Errorf("export %s: %w", r.ID, err)
				}
				if media {
					mdir := out
					if mdir == "" {
						mdir = r.Path
					}
					files, warns, err := export.Media(ctx, st, r, mdir)
					for _, w := range warns {
						e.warn(w)
					}
					if n := len(files); n > 0 {
						fmt.Fprintln(e.stdout, files[n-1])
						if n > 1 {
							fmt.Fprintf(e.stdout, "%s (%d media files)\n", filepath.Join(mdir, runfmt.MediaFolder), n-1)
						}
					}
					if err != nil {
						return fmt.Errorf("export %s media: %w", r.ID, err)
					}
				}
				if !plots {
					continue
				}
				// A run that logs no loss and no learning rate has no plots.
				files, err = chart.Files(ctx, st, []store.Run{r}, out, chart.Options{})
				for _, f := range files {
					fmt.Fprintln(e.stdout, f)
				}
				if err != nil && !errors.Is(err, chart.ErrNoData) {
					return fmt.Errorf("export %s plots: %w", r.ID, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "all", "metrics format: csv, json or all")
	cmd.Flags().StringVarP(&dir, "output", "o", "", "folder to write to (default: the run folder)")
	cmd.Flags().BoolVar(&plots, "plots", true, "also write loss_curves.png and lr_schedule.png")
	cmd.Flags().BoolVar(&media, "media", true, "also write media.json and copy the media files")
	return cmd
}
