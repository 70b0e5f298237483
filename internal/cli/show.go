package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

func newShow(e *env) *cobra.Command {
	var asJSON bool
	var charts string
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run: config, summary, statistics and charts of its losses",
		Long: `Show one run: who and where it ran, its config, the statistics of every
metric series (first, final, min, max, mean and best, with their steps) with a
sparkline of its curve, charts of its train and validation loss by gradient
step and by wallclock time, the keys of its rich values (texts, images,
tables, HTML, histograms) with their counts, steps and the last text of each
text key, the values the run set in its summary, its best checkpoint and its
alerts. Texts are shown as data: control characters and escape sequences
are made visible.

On a terminal the charts are drawn with braille dots, as wide as the
terminal, in colour unless NO_COLOR is set. Elsewhere (a pipe, a file) they
become a table of the losses at about ten steps: the validation steps when
there are few, else steps spread over the run. --chart picks either.

RUN is a run id, a unique prefix of one, or a run name.`,
		Example: `  runlog show k3v9x2ab
  runlog show k3v9            # a unique id prefix
  runlog show baseline-17m    # a name
  runlog show k3v9 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, r, err := e.openRun(ctx, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			sum, err := summary.Load(ctx, st, r, e.now())
			if err != nil {
				return err
			}
			if asJSON {
				return e.showJSON(ctx, st, r, sum)
			}
			switch charts {
			case "auto":
				charts = "table"
				if e.tty {
					charts = "braille"
				}
			case "braille", "table", "none":
			default:
				return fmt.Errorf("unknown --chart %q: use auto, braille, table or none", charts)
			}
			return e.showText(ctx, st, r, sum, charts)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: the summary, config, artifacts, events and media keys")
	cmd.Flags().StringVar(&charts, "chart", "auto", "loss charts: braille, table, none, or auto (braille on a terminal, else table)")
	return cmd
}

func (e *env) showJSON(ctx context.Context, st store.Store, r store.Run, sum summary.Summary) error {
	arts, err := st.Artifacts(ctx, r.ID)
	if err != nil {
		return err
	}
	evs, err := summary.Events(ctx, st, r.ID)
	if err != nil {
		return err
	}
	keys, err := st.MediaKeys(ctx, r.ID)
	if err != nil {
		return err
	}
	cfg := r.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	type artifact struct {
		runfmt.Artifact
		Metadata map[string]any `json:"metadata,omitempty"`
	}
	type event struct {
		runfmt.Event
		Data map[string]any `json:"data,omitempty"`
	}
	out := struct {
		summary.Summary
		Path      string          `json:"path"`
		Config    json.RawMessage `json:"config"`
		Artifacts []artifact      `json:"artifacts"`
		Events    []event         `json:"events"`
		Media     []mediaKey      `json:"media"`
	}{Summary: sum, Path: r.Path, Config: cfg, Artifacts: []artifact{}, Events: []event{}, Media: []mediaKey{}}
	for _, k := range keys {
		out.Media = append(out.Media, mediaKey{k.Key, k.Kind, k.Count, k.FirstStep, k.LastStep, k.LastText})
	}
	for _, a := range arts {
		m, _ := runfmt.Finite(a.Metadata).(map[string]any)
		out.Artifacts = append(out.Artifacts, artifact{a.Artifact, m})
	}
	for _, ev := range evs {
		d, _ := runfmt.Finite(ev.Data).(map[string]any)
		out.Events = append(out.Events, event{ev.Event, d})
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func (e *env) showText(ctx context.Context, st store.Store, r store.Run, s summary.Summary, charts string) error {
	w := e.stdout
	color := e.colors()
	status := s.Status
	if r.ExitCode != nil && status != runfmt.StatusRunning {
		status += fmt.Sprintf(" (exit %d)", *r.ExitCode)
	}
	fmt.Fprintf(w, "%s  %s  %s\n", orDash(r.Name), r.ID, paint(status, s.Status, color))
	kv := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(kv, "%s\t%s\n", k, v)
		}
	}
	proj := "project " + r.Project
	if r.Group != "" {
		proj += " · group " + r.Group
	}
	if len(r.Tags) > 0 {
		proj += " · tags " + strings.Join(r.Tags, ", ")
	}
	line("run", proj)
	started := when(r.Start)
	if r.Host != "" {
		started += " on " + r.Host
	}
	if r.User != "" {
		started += " by " + r.User
	}
	line("started", started)
	segs := "1 segment"
	if r.Segments > 1 {
		segs = fmt.Sprintf("%d segments (resumed %d×)", r.Segments, r.Segments-1)
	}
	steps := "no steps"
	if r.MaxStep >= 0 {
		steps = fmt.Sprintf("last step %d", r.MaxStep)
	}
	line("time", fmt.Sprintf("wallclock %s · active %s · %s · %s", duration(r.Wallclock()), duration(r.Active), segs, steps))
	line("command", strings.Join(r.Command, " "))
	line("cwd", r.Dir)
	if g := r.Git; g != nil && g.Commit != "" {
		desc := g.Commit[:min(10, len(g.Commit))]
		var extra []string
		if g.Branch != "" {
			extra = append(extra, g.Branch)
		}
		if g.Dirty {
			extra = append(extra, "dirty")
		}
		if len(extra) > 0 {
			desc += " (" + strings.Join(extra, ", ") + ")"
		}
		line("git", desc)
	}
	line("hypothesis", r.Hypothesis)
	line("notes", r.Notes)
	if r.Error != "" {
		line("error", lastLine(r.Error))
	}
	line("folder", r.Path)
	kv.Flush()

	if err := showObject(w, "config", r.Config); err != nil {
		return err
	}
	if err := e.showMetrics(ctx, st, r, s); err != nil {
		return err
	}
	if err := e.showCharts(ctx, st, r, charts); err != nil {
		return err
	}
	if err := e.showMedia(ctx, st, r); err != nil {
		return err
	}
	if err := showObject(w, "summary set by the run", r.Summary); err != nil {
		return err
	}
	if b := s.Best; b != nil {
		fmt.Fprintf(w, "\nbest checkpoint  %s", b.Path)
		if b.Step != nil {
			fmt.Fprintf(w, "  step %d", *b.Step)
		}
		if b.Value != nil {
			fmt.Fprintf(w, "  %s %s", b.Key, num(float64(*b.Value)))
		}
		fmt.Fprintf(w, "  (%d checkpoints)\n", s.Checkpoints)
	} else if s.Checkpoints > 0 {
		fmt.Fprintf(w, "\ncheckpoints  %d\n", s.Checkpoints)
	}
	return e.showEvents(ctx, st, w, r.ID)
}

// showObject prints a JSON object under a title as dotted keys in order,
// one per line; it prints nothing for an empty or invalid object.
func showObject(w io.Writer, title string, raw json.RawMessage) error {
	var obj map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &obj) != nil || len(obj) == 0 {
		return nil
	}
	flat, err := analyze.Flatten(raw)
	if err != nil {
		return nil
	}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\n%s\n", title)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "  %s\t%s\n", k, flat[k])
	}
	return tw.Flush()
}

func (e *env) showMetrics(ctx context.Context, st store.Store, r store.Run, s summary.Summary) error {
	if len(s.Metrics) == 0 {
		return nil
	}
	keys := make([]string, 0, len(s.Metrics))
	for k := range s.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sparkW := max(8, min(32, e.width()-100))
	fmt.Fprintln(e.stdout, "\nmetrics")
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  key\tcurve\tcount\tfirst\tfinal (step)\tmin (step)\tmax (step)\tmean\tbest (step)")
	for _, k := range keys {
		m := s.Metrics[k]
		pts, err := st.Points(ctx, r.ID, k, store.PointsOptions{})
		if err != nil {
			return err
		}
		best := "-"
		if m.Best != nil {
			best = fmt.Sprintf("%s (%d)", num(float64(*m.Best)), *m.BestStep)
		}
		lo, hi := "-", "-"
		if m.Min != nil {
			lo = fmt.Sprintf("%s (%d)", num(float64(*m.Min)), m.MinStep)
			hi = fmt.Sprintf("%s (%d)", num(float64(*m.Max)), m.MaxStep)
		}
		count := fmt.Sprint(m.Count)
		if m.NaN+m.Inf > 0 {
			count += fmt.Sprintf(" (%d non-finite)", m.NaN+m.Inf)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s (%d)\t%s\t%s\t%s\t%s\n", k, sparkline(pts.Values, sparkW), count,
			num(float64(m.Initial)), num(float64(m.Final)), m.FinalStep, lo, hi, num(float64(m.Mean)), best)
	}
	return tw.Flush()
}

// showCharts draws the run's losses by step and by wallclock time as
// braille charts, or as a table of values at a few steps.
func (e *env) showCharts(ctx context.Context, st store.Store, r store.Run, how string) error {
	var out string
	var err error
	switch how {
	case "braille":
		out, err = chart.Terminal(ctx, st, []store.Run{r}, chart.TermOptions{Width: e.width(), Color: e.colors()})
	case "table":
		out, err = chart.Table(ctx, st, r, nil, 10)
	default:
		return nil
	}
	if errors.Is(err, chart.ErrNoData) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%s", out)
	return nil
}

func (e *env) showEvents(ctx context.Context, st store.Store, w io.Writer, id string) error {
	evs, err := summary.Events(ctx, st, id)
	if err != nil || len(evs) == 0 {
		return err
	}
	fmt.Fprintln(w, "\nevents")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, ev := range evs {
		step := ""
		if ev.Step != nil {
			step = fmt.Sprintf("step %d", *ev.Step)
		}
		what := ev.Title
		if ev.Text != "" {
			if what != "" {
				what += ": "
			}
			what += ev.Text
		}
		kind := ev.Kind
		if ev.Level != "" {
			kind += " " + ev.Level
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", when(ev.Time), step, kind, what)
	}
	return tw.Flush()
}

// mediaKey is a key of the run's rich values in show --json.
type mediaKey struct {
	Key       string `json:"key"`
	Kind      string `json:"kind"`
	Count     int64  `json:"count"`
	FirstStep int64  `json:"first_step"`
	LastStep  int64  `json:"last_step"`
	LastText  string `json:"last_text,omitempty"`
}

// showMedia lists the run's text, image, table, HTML and histogram keys
// with their counts and steps, and the last text of each text key on one
// line (made safe for the terminal: text is data).
func (e *env) showMedia(ctx context.Context, st store.Store, r store.Run) error {
	keys, err := st.MediaKeys(ctx, r.ID)
	if err != nil || len(keys) == 0 {
		return err
	}
	fmt.Fprintln(e.stdout, "\nmedia")
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  key\tkind\tcount\tsteps\tlast")
	for _, k := range keys {
		steps := fmt.Sprint(k.FirstStep)
		if k.LastStep != k.FirstStep {
			steps += "–" + fmt.Sprint(k.LastStep)
		}
		last := ""
		if k.Kind == runfmt.MediaText {
			last = oneLine(k.LastText, max(20, e.width()-40-display.Width(k.Key)))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", display.Text(k.Key), k.Kind, k.Count, steps, last)
	}
	return tw.Flush()
}

// oneLine returns text made safe for a terminal (display.Text) on one line
// of at most n columns: newlines and tabs as spaces, the rest cut with …,
// quoted so that where it starts and ends is plain.
func oneLine(text string, n int) string {
	s := strings.Join(strings.Fields(display.Text(text)), " ")
	if display.Width(s) > n-2 {
		var b strings.Builder
		w := 0
		for _, r := range s {
			if w+display.Cols(r) > n-3 {
				break
			}
			b.WriteRune(r)
			w += display.Cols(r)
		}
		s = b.String() + "…"
	}
	return "“" + s + "”"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// lastLine returns the last non-empty line of a traceback: the exception.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
