// Package bench is the runlog-bench command: runlog's benchmarks, one
// subcommand each, every one printing the Markdown tables that
// docs/benchmarks.md records. The benchmarks themselves live in the
// packages below this one (storebench, analyzebench, chartbench,
// groupbench, serverbench, manykeysbench, compatbench); this package turns flags
// into their configurations, one file per subcommand.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Main runs the runlog-bench command with args and returns its exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdout, os.Stderr)
	root.SetArgs(longFlags(args))
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "runlog-bench: %v\n", err)
		return 1
	}
	return 0
}

// longFlags accepts the single-dash long flags of the separate programs
// this command replaced (-points 1000000): it rewrites -name to --name,
// leaving -h, negative numbers and everything after "--" alone.
func longFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 &&
			(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var cpuprofile string
	var stopProfile func()
	root := &cobra.Command{
		Use:   "runlog-bench",
		Short: "Measure runlog against its goals and print the tables of docs/benchmarks.md",
		Long: `runlog-bench measures runlog against the goals stated in docs/benchmarks.md
and prints Markdown tables, each figure a median of repeated runs and, where
there is one, beside a reference measured in the same run. Each subcommand is
one benchmark; "all" runs them in turn (scripts/bench.sh builds the binaries
and runs it). Times in the help are for the default sizes on a 2-core
machine; the machines are shared and noisy, so compare ratios and medians.`,
		Example: `  runlog-bench store --runlog bin/runlog --tinylm bin/tinylm
  runlog-bench chart --runlog bin/runlog --runs 3 --points 200000   # a quick look
  runlog-bench all --runlog bin/runlog --tinylm bin/tinylm`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if cpuprofile == "" {
				return nil
			}
			f, err := os.Create(cpuprofile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return err
			}
			stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			return nil
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if stopProfile != nil {
				stopProfile()
			}
		},
	}
	root.PersistentFlags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of this process to the file")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newStore(stdout, stderr))
	root.AddCommand(newAnalyze(stdout, stderr))
	root.AddCommand(newChart(stdout, stderr))
	root.AddCommand(newGroups(stdout, stderr))
	root.AddCommand(newServer(stdout, stderr))
	root.AddCommand(newManyKeys(stdout, stderr))
	root.AddCommand(newCompat(stdout, stderr))
	root.AddCommand(newSweep(stdout, stderr))
	root.AddCommand(newObjstore(stdout, stderr))
	root.AddCommand(newPostgres(stdout, stderr))
	root.AddCommand(newTeam(stdout, stderr))
	root.AddCommand(newAll(stdout, stderr))
	return root
}
