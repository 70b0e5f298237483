package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/sweepbench"
)

func newSweep(stdout, stderr io.Writer) *cobra.Command {
	c := sweepbench.Default
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Idle time of a runlog sweep slot between one member's end and the next one's start (goal ≤ 100 ms; ~15 s)",
		Long: `Run sweeps of tiny members (a shell script that sleeps) through the sweep
scheduler and the runner, as runlog sweep does, at 1, 2 and 4 members at a
time. Each member writes the time it starts and ends; a slot's idle time is
from one member's end to the next one's start on that slot: the runner
recording the end, the sweep recording it, the next run's folder, git state
and config, and starting its process. One table: median, p90 and max idle
(goal: max ≤ 100 ms). It takes about 15 s on a 2-core machine.

The sweep probes the git checkout of the working directory (and its
uncommitted diff) once, as runlog sweep does; each run still records the
commit in its header: run it where your sweeps run.`,
		Example: `  runlog-bench sweep
  runlog-bench sweep --members 48 --parallel 8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			_, err := sweepbench.Run(cmd.Context(), c)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dir, "dir", "", "folder to make the scratch folder in (default: the system's temporary folder)")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	f.IntVar(&c.Members, "members", c.Members, "members of each sweep")
	f.IntSliceVar(&c.Parallel, "parallel", c.Parallel, "members at a time, one sweep each")
	f.DurationVar(&c.Work, "work", c.Work, "how long each member runs")
	return cmd
}
