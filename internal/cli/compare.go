package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/store"
)

// analysisFlags are the flags compare and report share.
type analysisFlags struct {
	targets []string
	alpha   float64
}

func (f *analysisFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.targets, "target", nil, "time to reach a value: KEY=VALUE in the key's direction (down for losses), or KEY<=VALUE, KEY>=VALUE (repeatable)")
	fl.Float64Var(&f.alpha, "smooth", analyze.DefaultAlpha, "EMA weight α (0 to 0.999) smoothing curves other than validation metrics before values are read off; 0 is none")
}

func (f *analysisFlags) parse() ([]analyze.Target, error) {
	if f.alpha < 0 || f.alpha >= 1 {
		return nil, fmt.Errorf("--smooth %g: α must be at least 0 and less than 1 (0.9 averages about 10 points)", f.alpha)
	}
	var ts []analyze.Target
	for _, s := range f.targets {
		t, err := analyze.ParseTarget(s)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func newCompare(e *env) *cobra.Command {
	var (
		af               analysisFlags
		baseline         string
		keys, atTimes    []string
		atSteps          []int64
		asJSON, markdown bool
		groupBy          []string
		band             string
		textKey          string
	)
	cmd := &cobra.Command{
		Use:   "compare RUN...",
		Short: "Compare runs: config diff, final and best losses, time to a target, values at equal time and step",
		Long: `Compare runs side by side against a baseline (the first run named, or
--baseline): the config keys that differ, with the baseline's value beside
each run's; final and best train and validation loss with their steps; last
step, wallclock and active time, and mean tokens/s.

--target KEY=VALUE adds the time each run took to reach VALUE: the first
logged step at which the key's curve is at or below it (at or above for keys
where higher is better), with the wallclock and active time there, and the
speed-up over the baseline ("2.3× faster"). Curves other than validation
metrics are first smoothed with a debiased exponential moving average
(--smooth α, default 0.9: about the last 10 points), so that one lucky
minibatch does not count as reaching the target.

--at-time and --at-step add every shown metric's value at that wallclock
time or step, interpolated linearly between logged points (and smoothed
the same way).

--group-by KEY (a config path such as lr or model.d, several comma-separated,
or group for the runs' group) prints one line per group instead: the mean ±
standard deviation (--band minmax: the range) over its runs of the final and
best values and of the time to each target, with the config keys that vary
between groups as columns, sorted by the first target (else the validation
loss), the best group marked ★. A run whose metric became NaN or infinite is
counted apart, never averaged in.

--text KEY prints the text each run logged under KEY instead (a sample the
model generated, say) at the step of --at-step, or the nearest step before
it that has one (it says which), else the last: side by side in wrapped
columns on a terminal wide enough, else one block per run. Text is shown
as data: control characters and escape sequences are made visible.

RUN is a run id, a unique prefix of one, or a run name.`,
		Example: `  runlog compare lr-1e-2 lr-3e-3
  runlog compare lr-1e-2 lr-3e-3 --target val_loss=1.0 --at-time 15s --at-step 400
  runlog compare a b c --baseline b --target train_loss=1.2 --markdown
  runlog compare a b --json | jq '.runs[].targets'
  runlog compare a1 a2 b1 b2 c1 c2 --group-by lr --target val_loss=1.5
  runlog compare a b c --text sample --at-step 800`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON && markdown {
				return fmt.Errorf("--json and --markdown exclude each other")
			}
			if textKey != "" {
				return e.compareText(cmd.Context(), args, textKey, atSteps, asJSON, markdown)
			}
			targets, err := af.parse()
			if err != nil {
				return err
			}
			minmax, err := parseBand(band)
			if err != nil {
				return err
			}
			opt := analyze.Options{Keys: keys, Targets: targets, AtSteps: atSteps, Alpha: af.alpha, Now: e.now()}
			for _, s := range atTimes {
				sec, err := analyze.ParseDuration(s)
				if err != nil {
					return fmt.Errorf("--at-time: %w", err)
				}
				opt.AtTimes = append(opt.AtTimes, sec)
			}
			for _, s := range atSteps {
				if s < 0 {
					return fmt.Errorf("--at-step %d: steps start at 0", s)
				}
			}
			ctx := cmd.Context()
			st, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			runs, err := e.resolveAll(ctx, st, args)
			if err != nil {
				return err
			}
			if baseline != "" {
				b, err := e.resolve(ctx, st, baseline)
				if err != nil {
					return fmt.Errorf("--baseline: %w", err)
				}
				opt.Baseline = -1
				for i, r := range runs {
					if r.ID == b.ID {
						opt.Baseline = i
					}
				}
				if opt.Baseline < 0 {
					runs = append([]store.Run{b}, runs...)
					opt.Baseline = 0
				}
			}
			c, err := analyze.Compare(ctx, st, runs, opt)
			if err != nil {
				return err
			}
			if by := analyze.ParseGroupBy(groupBy); len(by) > 0 {
				gc, err := c.GroupBy(by, minmax)
				if err != nil {
					return err
				}
				switch {
				case asJSON:
					return gc.JSON(e.stdout)
				case markdown:
					return gc.Markdown(e.stdout)
				}
				return gc.Text(e.stdout, e.width())
			}
			switch {
			case asJSON:
				return c.JSON(e.stdout)
			case markdown:
				return c.Markdown(e.stdout)
			}
			return c.Text(e.stdout, e.width())
		},
	}
	af.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&baseline, "baseline", "", "the run the others are measured against (default: the first run named)")
	fl.StringArrayVar(&keys, "key", nil, "a metric to show (repeatable; default: train and validation loss)")
	fl.StringArrayVar(&atTimes, "at-time", nil, "also show values at this wallclock time: 90s, 30m, 1h30m (repeatable)")
	fl.Int64SliceVar(&atSteps, "at-step", nil, "also show values at this step (repeatable)")
	fl.StringSliceVar(&groupBy, "group-by", nil, "one line per group of runs sharing these config values (dotted paths such as lr, model.d, comma-separated), or group: the mean ± std of each")
	fl.StringVar(&band, "band", "std", "the spread shown with --group-by: std (±1 standard deviation) or minmax")
	fl.StringVar(&textKey, "text", "", "print the runs' text values of this key side by side (at --at-step, else the last)")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.BoolVar(&markdown, "markdown", false, "print a Markdown table (for GitHub, notes, papers)")
	return cmd
}

// compareText prints the runs' texts of key at each step of atSteps (the
// last text when none), side by side.
func (e *env) compareText(ctx context.Context, refs []string, key string, atSteps []int64, asJSON, markdown bool) error {
	if markdown {
		return fmt.Errorf("--text prints text or --json, not --markdown")
	}
	if len(atSteps) == 0 {
		atSteps = []int64{analyze.LastStep}
	}
	for _, s := range atSteps {
		if s < 0 {
			return fmt.Errorf("--at-step %d: steps start at 0", s)
		}
	}
	st, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := e.resolveAll(ctx, st, refs)
	if err != nil {
		return err
	}
	type sample struct {
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Step  *int64  `json:"step"` // the step used; null without a text
		Text  *string `json:"text"`
		Count int     `json:"count,omitempty"`
	}
	type block struct {
		Key     string   `json:"key"`
		AtStep  *int64   `json:"at_step"` // null: the last
		Samples []sample `json:"runs"`
	}
	var blocks []block
	foundAny := false
	for bi, step := range atSteps {
		samples, err := analyze.TextAt(ctx, st, runs, key, step)
		if err != nil {
			return err
		}
		b := block{Key: key}
		if step != analyze.LastStep {
			b.AtStep = &atSteps[bi]
		}
		for _, s := range samples {
			j := sample{ID: s.Run.ID, Name: s.Run.Name, Count: s.Count}
			if s.Found {
				foundAny = true
				j.Step, j.Text = &s.Step, &s.Text
			}
			b.Samples = append(b.Samples, j)
		}
		blocks = append(blocks, b)
		if !asJSON {
			if bi > 0 {
				fmt.Fprintln(e.stdout)
			}
			e.textSideBySide(samples)
		}
	}
	if !foundAny {
		e.warn(fmt.Errorf("no run named logged a text under %q (runlog show RUN lists a run's keys)", key))
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(blocks)
	}
	return nil
}

// Columns of compare --text: each at least minTextCol wide, gutter apart.
const (
	minTextCol = 28
	textGutter = " │ "
)

// textSideBySide prints samples in wrapped columns, one per run, when the
// output is a terminal wide enough for them; else one block per run.
func (e *env) textSideBySide(samples []analyze.TextSample) {
	heads := make([]string, len(samples))
	bodies := make([]string, len(samples))
	for i, s := range samples {
		heads[i] = s.Run.ID
		if s.Run.Name != "" {
			heads[i] = display.Text(s.Run.Name) + " (" + s.Run.ID + ")"
		}
		switch {
		case !s.Found && s.Asked == analyze.LastStep:
			bodies[i] = "(no text logged)"
		case !s.Found:
			bodies[i] = fmt.Sprintf("(no text at or before step %d)", s.Asked)
		default:
			bodies[i] = display.Text(s.Text)
		}
		if s.Found {
			used := fmt.Sprintf("step %d", s.Step)
			if s.Asked != analyze.LastStep && s.Step != s.Asked {
				used += fmt.Sprintf(" (nearest ≤ %d)", s.Asked)
			}
			if s.Count > 1 {
				used += fmt.Sprintf(", last of %d", s.Count)
			}
			heads[i] += " · " + used
		}
	}
	n := len(samples)
	col := (e.width() - (n-1)*len([]rune(textGutter))) / n
	if !e.tty || col < minTextCol {
		for i := range samples {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			body := strings.TrimRight(bodies[i], "\n")
			if e.tty { // wrapped to the terminal; a pipe gets the lines as logged
				body = strings.Join(display.Wrap(body, e.width()), "\n")
			}
			fmt.Fprintf(e.stdout, "── %s\n%s\n", heads[i], body)
		}
		return
	}
	cols := make([][]string, n)
	headRows, rows := 0, 0
	for i := range samples {
		cols[i] = display.Wrap(heads[i], col)
		headRows = max(headRows, len(cols[i]))
	}
	for i := range samples { // the rules under the heads on one line
		for len(cols[i]) < headRows {
			cols[i] = append(cols[i], "")
		}
		cols[i] = append(cols[i], strings.Repeat("─", col))
		cols[i] = append(cols[i], display.Wrap(strings.TrimRight(bodies[i], "\n"), col)...)
		rows = max(rows, len(cols[i]))
	}
	for r := range rows {
		var line strings.Builder
		for i := range cols {
			if i > 0 {
				line.WriteString(textGutter)
			}
			cell := ""
			if r < len(cols[i]) {
				cell = cols[i][r]
			}
			if i < n-1 {
				cell = display.Pad(cell, col)
			}
			line.WriteString(cell)
		}
		fmt.Fprintln(e.stdout, strings.TrimRight(line.String(), " "))
	}
}

// parseBand reads --band: whether group spreads are min–max rather than
// ±1 standard deviation.
func parseBand(s string) (minmax bool, err error) {
	switch s {
	case "", "std":
		return false, nil
	case "minmax":
		return true, nil
	}
	return false, fmt.Errorf("--band %q: use std (±1 standard deviation) or minmax", s)
}

// resolveAll finds the runs refs name, in order, each once.
func (e *env) resolveAll(ctx context.Context, st store.Store, refs []string) ([]store.Run, error) {
	var runs []store.Run
	seen := map[string]bool{}
	for _, ref := range refs {
		r, err := e.resolve(ctx, st, ref)
		if err != nil {
			return nil, err
		}
		if seen[r.ID] {
			e.warn(fmt.Errorf("%s names run %s again; it is shown once", strconv.Quote(ref), r.ID))
			continue
		}
		seen[r.ID] = true
		runs = append(runs, r)
	}
	return runs, nil
}
