package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/sqlite"
)

func newIndex(e *env) *cobra.Command {
	var rebuild bool
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Bring the store up to date with the run folders",
		Long: `Index the run folders of the home into its store (runlog.db). Every other
command does this first, reading only what is new; run it yourself to see what
was indexed, or with --rebuild to index everything again from the run folders
(for example after deleting a damaged runlog.db: the run folders hold all the
data, the store is only an index). It also looks in every run folder for logs
of attached processes (run.<name>.log) that appeared after the run itself
stopped writing, which other commands only look for in active runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir()
			if _, err := os.Stat(home); err != nil {
				return fmt.Errorf("%w at %s", errNoHome, home)
			}
			db, err := sqlite.Open(layout.Store(home))
			if err != nil {
				return err
			}
			defer db.Close()
			start := time.Now()
			res, err := e.index(cmd.Context(), db, ingest.Options{Rebuild: rebuild, Deep: true})
			if err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(e.stdout, "%d runs, %d with new data, %d removed; %d records, %d points in %s",
				res.Runs, res.Indexed, res.Removed, res.Records, res.Points, el.Round(time.Millisecond))
			if res.Points > 0 && el > 0 {
				fmt.Fprintf(e.stdout, " (%.2f M points/s)", float64(res.Points)/el.Seconds()/1e6)
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "index every run again from the start")
	return cmd
}
