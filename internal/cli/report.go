package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/store"
)

// plotFiles draws the charts of runs into dir — for one run its own, for
// several the runs overlaid — and returns the files written: loss_curves.png
// and lr_schedule.png. Tests replace it.
var plotFiles = func(ctx context.Context, st store.Store, runs []store.Run, dir string) ([]string, error) {
	files, err := chart.Files(ctx, st, runs, dir, chart.Options{})
	if errors.Is(err, chart.ErrNoData) { // a run with no loss and no learning rate has no plots
		return nil, nil
	}
	return files, err
}

// maxOverlaid is the most runs drawn together in the report's summary
// plot; more lines than this are no longer told apart.
const maxOverlaid = 10

func newReport(e *env) *cobra.Command {
	var (
		af              analysisFlags
		project, output string
		title           string
		noPlots, force  bool
		groupBy         []string
		band            string
	)
	cmd := &cobra.Command{
		Use:   "report [RUN...]",
		Short: "Write the experiment log, EXPERIMENT_LOG.md, from the runs",
		Long: `Write the experiment log of the runs named (in that order), of a project's
runs or of every run (oldest first): per run its date, name, id, status,
hypothesis, notes and tags, its config as a diff against its parent run or
the first run of the log, its results (final and best losses, time to each
--target), its plots, drawn into plots/<run-id>/ beside the file, the last
text it logged under each text key (as a code block: text is data) and the
last image of each image key (a link relative to the file); then a
summary table of all runs and sections for observations and findings.

Write in the file between the markers

  <!-- runlog:keep NAME -->
  <!-- /runlog:keep -->

and run the same command again: the text between markers is kept, and the
rest is regenerated. A block whose run is no longer in the log moves to an
"Orphaned notes" section. If you edited text outside the markers, it is
replaced, and the previous file is copied to FILE.bak first.

Runs that share a group (a sweep's members) get one section together: a
table of the runs grouped by the config keys that vary among them (seeds
aside; --group-by names the keys), the mean ± std (--band minmax: the
range) of their results, a plot of each group's mean in a band and one of
the metric against the varied value, with the runs' own sections folded
below. The summary table shows the config keys that differ between runs.`,
		Example: `  runlog report --project tinylm
  runlog report lr-1e-2 lr-3e-3 --target val_loss=1.0 -o docs/EXPERIMENT_LOG.md
  runlog report --project tinylm -o -      # print it, without plots`,
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := af.parse()
			if err != nil {
				return err
			}
			if project != "" && len(args) > 0 {
				return fmt.Errorf("name runs or give --project, not both")
			}
			ctx := cmd.Context()
			st, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			runs, err := e.reportRuns(ctx, st, args, project)
			if err != nil {
				return err
			}
			minmax, err := parseBand(band)
			if err != nil {
				return err
			}
			opt := analyze.ReportOptions{Title: title, Targets: targets, Alpha: af.alpha, Now: e.now(),
				Command: reportCommand(cmd, args), GroupBy: analyze.ParseGroupBy(groupBy), MinMax: minmax}
			if output != "-" {
				opt.Dir = filepath.Dir(output)
			}
			if output == "-" {
				doc, err := analyze.Report(ctx, st, runs, nil, opt)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(doc)
				return err
			}
			old, err := os.ReadFile(output)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			backup := false
			if len(old) > 0 {
				generated, edited := analyze.Edited(old)
				if !generated && !force {
					return fmt.Errorf("%s was not written by runlog report (it has no runlog:report signature on its last line); pass --force to replace it (a copy goes to %s.bak) or write to another file with -o", output, output)
				}
				backup = !generated || edited
			}
			if !noPlots {
				if opt.Plots, err = e.reportPlots(ctx, st, runs, filepath.Dir(output), opt); err != nil {
					return err
				}
			}
			doc, err := analyze.Report(ctx, st, runs, old, opt)
			if err != nil {
				return fmt.Errorf("%s: %w", output, err)
			}
			if backup {
				if err := os.WriteFile(output+".bak", old, 0o644); err != nil {
					return fmt.Errorf("keep a copy of %s: %w", output, err)
				}
				e.warn(fmt.Errorf("%s was edited outside its runlog:keep blocks; that text is replaced, the previous file is %s.bak", output, output))
			}
			if err := atomicfile.WriteFile(output, doc); err != nil {
				return err
			}
			plots := 0
			for _, p := range opt.Plots {
				plots += len(p)
			}
			fmt.Fprintf(e.stdout, "wrote %s: %d runs, %d plots\n", output, len(runs), plots)
			return nil
		},
	}
	af.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&project, "project", "", "the runs of this project")
	fl.StringVarP(&output, "output", "o", "EXPERIMENT_LOG.md", "the file to write; - prints it (without plots)")
	fl.StringVar(&title, "title", "", "the title of the log (default \"Experiment log\")")
	fl.BoolVar(&noPlots, "no-plots", false, "do not draw or link plots")
	fl.StringSliceVar(&groupBy, "group-by", nil, "the config keys a group's runs are grouped by in its section (default: those that vary, but seeds)")
	fl.StringVar(&band, "band", "std", "the spread of groups: std (±1 standard deviation) or minmax")
	fl.BoolVar(&force, "force", false, "replace a file that runlog report did not write (a copy goes to FILE.bak)")
	return cmd
}

// reportCommand returns the command line that makes the same report.
func reportCommand(cmd *cobra.Command, args []string) string {
	parts := []string{"runlog", "report"}
	for _, a := range args {
		parts = append(parts, analyze.ShellQuote(a))
	}
	fl := cmd.Flags()
	for _, name := range []string{"project", "target", "smooth", "title", "output", "no-plots", "group-by", "band"} {
		f := fl.Lookup(name)
		switch {
		case !f.Changed:
		case name == "target":
			t, _ := fl.GetStringArray(name)
			for _, v := range t {
				parts = append(parts, "--target", analyze.ShellQuote(v))
			}
		case name == "no-plots":
			parts = append(parts, "--no-plots")
		default:
			parts = append(parts, "--"+name, analyze.ShellQuote(f.Value.String()))
		}
	}
	return strings.Join(parts, " ")
}

// reportRuns returns the runs of a report, with all their fields: those
// named, in order; else those of project, or of the home, oldest first,
// archived runs left out.
func (e *env) reportRuns(ctx context.Context, st store.Store, refs []string, project string) ([]store.Run, error) {
	if len(refs) > 0 {
		return e.resolveAll(ctx, st, refs)
	}
	list, err := st.Runs(ctx, store.Filter{Project: project, Archived: store.NotArchived, Brief: true})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		if project != "" {
			return nil, fmt.Errorf("no runs in project %q; `runlog ls` lists the runs", project)
		}
		return nil, fmt.Errorf("no runs in %s", e.homeDir())
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Start < list[j].Start })
	runs := make([]store.Run, len(list))
	for i, r := range list {
		if runs[i], err = st.Run(ctx, r.ID); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// reportPlots draws the plots of every run into dir/plots/<run-id>/, and
// of all runs together into dir/plots/all/, and returns their paths
// relative to dir by run id ("" for all runs). A run's plots newer than
// its last record are up to date and not drawn again.
func (e *env) reportPlots(ctx context.Context, st store.Store, runs []store.Run, dir string, opt analyze.ReportOptions) (map[string][]string, error) {
	type job struct {
		key   string
		runs  []store.Run
		dir   string
		group []string // group by these keys: a group set's plots
	}
	var jobs []job
	sets := analyze.GroupSets(runs)
	for name, set := range sets {
		if len(set) < 2 {
			continue
		}
		members := make([]store.Run, len(set))
		for i, m := range set {
			members[i] = runs[m]
		}
		keys := opt.GroupBy
		if len(keys) == 0 {
			var err error
			if keys, err = analyze.SweepKeys(members); err != nil {
				return nil, err
			}
		}
		if len(keys) == 0 {
			keys = []string{analyze.GroupField}
		}
		jobs = append(jobs, job{analyze.GroupSetKey(name), members, filepath.Join(dir, "plots", "group-"+keysFileName([]string{name})), keys})
	}
	for _, r := range runs {
		if len(sets[r.Group]) > 1 { // a group's runs are drawn together
			continue
		}
		jobs = append(jobs, job{r.ID, []store.Run{r}, filepath.Join(dir, "plots", r.ID), nil})
	}
	if len(runs) > 1 && len(runs) <= maxOverlaid && len(sets[runs[0].Group]) < len(runs) { // one group: its bands show them
		jobs = append(jobs, job{"", runs, filepath.Join(dir, "plots", "all"), nil})
	}
	out := make(map[string][]string, len(jobs))
	var mu sync.Mutex
	var firstErr error
	work := make(chan job)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				var files []string
				fresh := false
				if j.key != "" && j.group == nil { // the set of runs overlaid may change without new data
					files, fresh = upToDate(j.dir, j.runs)
				}
				var err error
				switch {
				case fresh:
				case j.group != nil:
					files, err = groupPlots(ctx, st, j.runs, groupPlot{by: j.group, minmax: opt.MinMax, dir: j.dir})
					if errors.Is(err, chart.ErrNoData) {
						err = nil
					}
				default:
					files, err = plotFiles(ctx, st, j.runs, j.dir)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("plot %s: %w", j.dir, err)
				}
				for _, f := range files {
					if rel, err := filepath.Rel(dir, f); err == nil && strings.HasSuffix(f, ".png") {
						out[j.key] = append(out[j.key], filepath.ToSlash(rel))
					}
				}
				sort.Strings(out[j.key])
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	return out, firstErr
}

// upToDate returns the plots in dir if they were drawn after the last
// record of every run in runs.
func upToDate(dir string, runs []store.Run) ([]string, bool) {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(paths) == 0 {
		return nil, false
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, false
		}
		for _, r := range runs {
			if float64(fi.ModTime().UnixNano())/1e9 <= r.Last {
				return nil, false
			}
		}
	}
	return paths, true
}
