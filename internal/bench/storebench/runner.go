package storebench

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
)

// runnerOverhead measures what `runlog run` costs a training program: the
// tiny LM is trained alternately on its own and under the runner, and the
// median throughput it reports (tokens/s, measured by the program itself)
// is compared.
func runnerOverhead(ctx context.Context, c Config, dir string) ([]Row, error) {
	if c.Runlog == "" || c.TinyLM == "" {
		return []Row{{What: "`runlog run` overhead on the tiny LM", Result: "skipped: give --runlog and --tinylm"}}, nil
	}
	home := filepath.Join(dir, "home")
	args := []string{"-config", c.TinyLMConfig, "-set", fmt.Sprintf("max_steps=%d", c.TinyLMSteps)}
	var direct, supervised, cpuShare []float64
	for i := range max(c.Repeat, 3) {
		for _, underRunner := range []bool{i%2 == 0, i%2 != 0} { // alternate who goes first
			name := fmt.Sprintf("direct-%d", i)
			cmd := exec.CommandContext(ctx, c.TinyLM, append(args, "-name", name, "-home", home)...)
			if underRunner {
				name = fmt.Sprintf("runner-%d", i)
				cmd = exec.CommandContext(ctx, c.Runlog, append([]string{"--home", home, "-q", "run", "--name", name, "--", c.TinyLM}, args...)...)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("%s: %v\n%s", name, err, out)
			}
			tps, share, err := meanThroughput(ctx, c.Runlog, home, name)
			if err != nil {
				return nil, err
			}
			c.progress("  %s: %.0f tokens/s", name, tps)
			if underRunner {
				supervised = append(supervised, tps)
				cpuShare = append(cpuShare, share)
			} else {
				direct = append(direct, tps)
			}
		}
	}
	d, s := medianOf(direct), medianOf(supervised)
	spread := (slices.Max(direct) - slices.Min(direct)) / d * 100
	return []Row{{
		What: fmt.Sprintf("`runlog run` overhead on the tiny LM (%d steps, %d runs each, alternating)", c.TinyLMSteps, len(direct)),
		Result: fmt.Sprintf("runner CPU = %.2f%% of the program's; %.0f tokens/s under the runner",
			medianOf(cpuShare)*100, s),
		Goal:      "< 1% slower",
		Reference: fmt.Sprintf("%.0f tokens/s run directly (runs vary by %.1f%%)", d, spread),
		Ratio:     fmt.Sprintf("%+.1f%% tokens/s", (s-d)/d*100),
	}}, nil
}

// meanThroughput reads the mean tokens_per_sec of a run through runlog,
// and, for a run under the runner, the runner's CPU time as a share of the
// program's (which the runner records in the summary).
func meanThroughput(ctx context.Context, runlog, home, name string) (tps, cpuShare float64, err error) {
	out, err := exec.CommandContext(ctx, runlog, "--home", home, "-q", "show", name, "--json").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("runlog show %s: %w", name, err)
	}
	var s struct {
		Metrics map[string]struct {
			Mean float64 `json:"mean"`
		} `json:"metrics"`
		Values map[string]any `json:"summary"`
	}
	if err := json.Unmarshal(out, &s); err != nil {
		return 0, 0, err
	}
	m, ok := s.Metrics["tokens_per_sec"]
	if !ok {
		return 0, 0, fmt.Errorf("run %s logged no tokens_per_sec", name)
	}
	runner, _ := s.Values["runlog/runner_cpu_seconds"].(float64)
	program, _ := s.Values["runlog/program_cpu_seconds"].(float64)
	if program > 0 {
		cpuShare = runner / program
	}
	return m.Mean, cpuShare, nil
}

func medianOf(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
