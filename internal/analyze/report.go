package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// ReportOptions say what Report writes.
type ReportOptions struct {
	Title   string // "" means "Experiment log"
	Command string // the command that regenerates the file, shown in it
	Targets []Target
	Alpha   float64 // smoothing for the targets; see DefaultAlpha
	// Plots are the images to show, as paths relative to the file's
	// folder with forward slashes: by run id, and under "" those of all
	// runs together.
	Plots map[string][]string
	Now   time.Time
	// GroupBy are the keys the runs of a group (a sweep) are grouped by in
	// its section; none means SweepKeys of its runs. MinMax shows min–max
	// spreads instead of ±1 std.
	GroupBy []string
	MinMax  bool
	// Dir is the folder the file is written to: the runs' images are
	// linked relative to it ("" links them by absolute path).
	Dir string
}

// Default texts of new keep blocks. A block of a run that is gone is kept
// only if its text is not its default.
const (
	defaultIntro        = "\n_What these experiments are about: the question, the setup, the plan. (Text between the runlog:keep markers survives regeneration.)_\n"
	defaultFindings     = "\n_What the runs showed, and what to try next._\n"
	defaultObservations = "\n_What happened in this run, and what it means._\n"
)

// Report writes the experiment log of runs, in the order given: the first
// is the baseline every other run's config is compared with, unless its
// parent (the run it was forked from) is known. old is the file as it is,
// if any: the text of its keep blocks is carried over.
func Report(ctx context.Context, st store.Store, runs []store.Run, old []byte, opt ReportOptions) ([]byte, error) {
	if len(runs) == 0 {
		return nil, errors.New("report: no runs")
	}
	blocks, err := parseBlocks(string(old))
	if err != nil {
		return nil, fmt.Errorf("the existing log: %w", err)
	}
	kept := map[string]string{}
	for _, b := range blocks {
		kept[b.name] = b.text
	}
	c, err := Compare(ctx, st, runs, Options{Targets: opt.Targets, Alpha: opt.Alpha, Now: opt.Now})
	if err != nil {
		return nil, err
	}
	w := &reportWriter{c: c, kept: kept, used: map[string]bool{}, opt: opt, byID: map[string]int{}}
	for i, r := range runs {
		w.byID[r.ID] = i
	}
	w.header()
	w.varied()
	w.summary()
	sets := GroupSets(runs)
	done := map[int]bool{}
	for i := range c.Runs {
		if done[i] {
			continue
		}
		if set := sets[runs[i].Group]; len(set) > 1 {
			if err := w.groupSet(ctx, st, runs[i].Group, set); err != nil {
				return nil, err
			}
			for _, m := range set {
				done[m] = true
			}
			continue
		}
		if err := w.run(ctx, st, i); err != nil {
			return nil, err
		}
	}
	w.orphans(blocks)
	doc := w.b.String()
	return []byte(doc + signature(doc) + "\n"), nil
}

type reportWriter struct {
	b    strings.Builder
	c    *Comparison
	kept map[string]string // keep blocks of the old file by name
	used map[string]bool
	opt  ReportOptions
	byID map[string]int
	// cols are the config keys that differ between runs, shown in the
	// summary table (at most maxVaried).
	cols []ConfigDiff
}

func (w *reportWriter) p(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

// keep writes the keep block name with its old text, or def in a new file.
func (w *reportWriter) keep(name, def string) {
	text, ok := w.kept[name]
	if !ok {
		text = def
	}
	w.used[name] = true
	writeBlock(&w.b, name, text)
}

func (w *reportWriter) header() {
	title := w.opt.Title
	if title == "" {
		title = "Experiment log"
	}
	w.p("# %s\n\n", mdText(title))
	cmd := w.opt.Command
	if cmd == "" {
		cmd = "runlog report"
	}
	w.p("<!-- Generated from %d runs by `%s`. Run it again to update this file: the text between\n", len(w.c.Runs), cmd)
	w.p("     runlog:keep markers is kept, everything else is rewritten (a copy of an edited file goes to .bak). -->\n\n")
	w.keep("intro", defaultIntro)
	w.p("\n")
}

// anchor is the link target of a run's section.
func anchor(id string) string { return "run-" + id }

func (w *reportWriter) summary() {
	c := w.c
	w.p("## Summary\n\n")
	w.p("| # | Run |")
	align := "|--:|---|"
	for _, d := range w.cols {
		w.p(" %s |", mdCell(d.Key))
		align += "--:|"
	}
	w.p(" Date | Status | Last step | Wallclock |")
	align += "---|---|--:|--:|"
	for _, k := range c.Keys {
		w.p(" Final %s |", mdCell(k))
		align += "--:|"
		if series.IsValidationKey(k) {
			w.p(" Best %s (step) |", mdCell(k))
			align += "--:|"
		}
	}
	for _, t := range c.Targets {
		w.p(" Time to %s |", mdCell(t.String()))
		align += "--:|"
	}
	w.p(" Tags |\n%s---|\n", align)
	for i, r := range c.Runs {
		steps := "-"
		if r.Run.MaxStep >= 0 {
			steps = fmt.Sprint(r.Run.MaxStep)
		}
		w.p("| %d | [%s](#%s) |", i+1, mdCell(runName(r.Run)), anchor(r.Run.ID))
		for _, d := range w.cols {
			w.p(" %s |", mdCell(clip(configValue(d.Values[i]), 24)))
		}
		w.p(" %s | %s | %s | %s |", day(r.Run.Start), r.Status, steps, duration(r.Wallclock))
		for k, m := range r.Metrics {
			final, best := "-", "-"
			if m.Logged {
				final = num(m.Final)
				if m.BestStep >= 0 {
					best = fmt.Sprintf("%s (%d)", num(m.Best), m.BestStep)
				}
			}
			w.p(" %s |", final)
			if series.IsValidationKey(c.Keys[k]) {
				w.p(" %s |", best)
			}
		}
		for t := range c.Targets {
			w.p(" %s |", mdCell(w.reachCell(i, t)))
		}
		w.p(" %s |\n", tagList(r.Run.Tags))
	}
	w.p("\n")
	if plots := w.opt.Plots[""]; len(plots) > 0 {
		for _, p := range plots {
			w.p("![%s](%s)\n", plotAlt("All runs", p), p)
		}
		w.p("\n")
	}
	if len(c.Targets) > 0 {
		w.p("_%s_\n\n", mdText(strings.Join(c.notes(), " ")))
	}
	w.p("## Key findings\n\n")
	w.keep("findings", defaultFindings)
	w.p("\n## Experiments\n\n")
}

// reachCell is a summary table's cell for run i and target t.
func (w *reportWriter) reachCell(i, t int) string {
	r := w.c.Runs[i].Reaches[t]
	switch {
	case !r.Logged:
		return "not logged"
	case !r.Reached:
		return "not reached"
	}
	s := fmt.Sprintf("%s (step %d)", duration(r.Wallclock), r.Step)
	if i != w.c.Baseline && !math.IsNaN(r.SpeedupWallclock) {
		s += ", " + r.versus()
	}
	return s
}

func tagList(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = "`" + strings.ReplaceAll(t, "`", "'") + "`"
	}
	return mdCell(strings.Join(out, " "))
}

// plotAlt is the alternative text of a plot image.
func plotAlt(what, p string) string {
	switch strings.TrimSuffix(path.Base(p), path.Ext(p)) {
	case "loss_curves":
		return mdText(what) + ": loss by step and by wallclock time"
	case "lr_schedule":
		return mdText(what) + ": learning-rate schedule"
	}
	return mdText(what) + ": " + mdText(path.Base(p))
}

func (w *reportWriter) run(ctx context.Context, st store.Store, i int) error {
	res := &w.c.Runs[i]
	r := res.Run
	w.p("### <a name=\"%s\"></a>%d. %s\n\n", anchor(r.ID), i+1, mdText(runName(r)))
	status := res.Status
	if r.ExitCode != nil && res.Status != runfmt.StatusRunning {
		status += fmt.Sprintf(" (exit %d)", *r.ExitCode)
	}
	w.p("- **Date:** %s\n", date(r.Start))
	w.p("- **Run:** `%s` · project %s · %s\n", r.ID, mdText(r.Project), status)
	if r.Group != "" {
		w.p("- **Group:** %s\n", mdText(r.Group))
	}
	if len(r.Tags) > 0 {
		w.p("- **Tags:** %s\n", tagList(r.Tags))
	}
	hyp := "_none recorded (`runlog note " + r.ID + " --hypothesis TEXT`)_"
	if r.Hypothesis != "" {
		hyp = inline(r.Hypothesis)
	}
	w.p("- **Hypothesis:** %s\n", hyp)
	if len(r.Command) > 0 {
		w.p("- **Command:** %s\n", code(shellJoin(r.Command)))
	}
	if g := r.Git; g != nil && g.Commit != "" {
		desc := "`" + g.Commit[:min(10, len(g.Commit))] + "`"
		if g.Branch != "" {
			desc += " on " + mdText(g.Branch)
		}
		if g.Dirty {
			desc += " (uncommitted changes)"
		}
		w.p("- **Git:** %s\n", desc)
	}
	if r.Error != "" {
		w.p("- **Error:** %s\n", code(lastLine(r.Error)))
	}
	if r.Notes != "" {
		w.p("\n**Notes**\n\n%s\n", strings.TrimSpace(r.Notes))
	}
	if err := w.config(ctx, st, i); err != nil {
		return err
	}
	w.results(i)
	for _, p := range w.opt.Plots[r.ID] {
		w.p("![%s](%s)\n", plotAlt(runName(r), p), p)
	}
	if len(w.opt.Plots[r.ID]) > 0 {
		w.p("\n")
	}
	if err := w.samples(ctx, st, r); err != nil {
		return err
	}
	w.p("**Observations**\n\n")
	w.keep("observations "+r.ID, defaultObservations)
	w.p("\n")
	return nil
}

// config writes the run's config as a diff against its parent when known,
// else against the first run of the log, with the whole config folded.
func (w *reportWriter) config(ctx context.Context, st store.Store, i int) error {
	r := w.c.Runs[i].Run
	base, what := w.c.Runs[0].Run, "the first run of this log"
	if j, ok := w.byID[r.Parent]; ok && r.Parent != "" && j != i {
		base, what = w.c.Runs[j].Run, "its parent run"
	} else if r.Parent != "" && r.Parent != r.ID {
		p, err := st.Run(ctx, r.Parent)
		switch {
		case err == nil:
			base, what = p, "its parent run"
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("read parent %s of run %s: %w", r.Parent, r.ID, err)
		}
	}
	flat, err := Flatten(r.Config)
	if err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	w.p("\n**Config**")
	switch {
	case base.ID == r.ID:
		w.p(": the baseline of this log.\n\n")
	default:
		diff, err := DiffConfigs([]json.RawMessage{r.Config, base.Config}, 1)
		if err != nil {
			return fmt.Errorf("run %s: %w", r.ID, err)
		}
		name := mdText(runName(base))
		if _, in := w.byID[base.ID]; in {
			name = fmt.Sprintf("[%s](#%s)", mdCell(runName(base)), anchor(base.ID))
		}
		if len(diff) == 0 {
			w.p(": the same as %s, %s.\n\n", what, name)
			break
		}
		w.p(": what differs from %s, %s.\n\n", what, name)
		w.p("| Key | This run | %s |\n|---|---|---|\n", mdCell(runName(base)))
		for _, d := range diff {
			w.p("| %s | %s | %s |\n", mdCell(d.Key), mdCell(configValue(d.Values[0])), mdCell(configValue(d.Values[1])))
		}
		w.p("\n")
	}
	if len(flat) == 0 {
		return nil
	}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.p("<details><summary>Full config (%d keys)</summary>\n\n| Key | Value |\n|---|---|\n", len(keys))
	for _, k := range keys {
		w.p("| %s | %s |\n", mdCell(k), mdCell(configValue(flat[k])))
	}
	w.p("\n</details>\n\n")
	return nil
}

func (w *reportWriter) results(i int) {
	c, res := w.c, &w.c.Runs[i]
	w.p("**Results**\n\n")
	if len(c.Keys) > 0 {
		w.p("| Metric | Final (step) | Best (step) |\n|---|--:|--:|\n")
		for k, key := range c.Keys {
			m := res.Metrics[k]
			final, best := "not logged", "-"
			if m.Logged {
				final = fmt.Sprintf("%s (%d)", num(m.Final), m.FinalStep)
				if m.BestStep >= 0 {
					best = fmt.Sprintf("%s (%d)", num(m.Best), m.BestStep)
				}
			}
			w.p("| %s | %s | %s |\n", mdCell(key), final, best)
		}
		w.p("\n")
	}
	line := "No steps logged"
	if res.Run.MaxStep >= 0 {
		line = fmt.Sprintf("Reached step %d", res.Run.MaxStep)
	}
	line += fmt.Sprintf(" in %s wallclock (%s active)", duration(res.Wallclock), duration(res.Active))
	if !math.IsNaN(res.TokensPerSec) {
		line += ", " + rate(res.TokensPerSec) + " tokens/s"
	}
	w.p("%s.\n\n", line)
	for t, tg := range c.Targets {
		rc := res.Reaches[t]
		s := rc.describe()
		if rc.Reached && len(c.Runs) > 1 {
			switch {
			case i == c.Baseline:
				s += " (the baseline)"
			case !math.IsNaN(rc.SpeedupWallclock):
				head, detail := rc.versusParts()
				s += fmt.Sprintf(" — %s than %s%s", head, mdText(runName(c.Runs[c.Baseline].Run)), detail)
			}
		}
		w.p("- Time to %s: %s\n", mdText(tg.String()), s)
	}
	if len(c.Targets) > 0 {
		w.p("\n")
	}
}

// orphans writes the keep blocks of the old file that found no place: of
// runs no longer in the log, or of names runlog does not know. Blocks
// still holding their default text are dropped.
func (w *reportWriter) orphans(blocks []block) {
	var lost []block
	for _, b := range blocks {
		if t := strings.TrimSpace(b.text); w.used[b.name] || t == "" || t == strings.TrimSpace(defaultObservations) {
			continue
		}
		lost = append(lost, b)
	}
	if len(lost) == 0 {
		return
	}
	w.p("## Orphaned notes\n\n")
	w.p("_Text from keep blocks whose place is no longer in this log (a run that was deleted or left out). Move it where it belongs, or delete the block._\n\n")
	for _, b := range lost {
		w.p("**%s**\n\n", mdText(b.name))
		writeBlock(&w.b, b.name, b.text)
		w.p("\n")
	}
}

// inline makes multi-line text fit a list item.
func inline(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(mdText(s)), "\n", "<br>")
}

// code writes s as inline code, whatever backticks it holds.
func code(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// lastLine returns the last non-empty line of a traceback: the exception.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// shellJoin joins a command line the way a POSIX shell reads it back.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = ShellQuote(a)
	}
	return strings.Join(out, " ")
}

// ShellQuote quotes s for a POSIX shell, if it needs quotes.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
