package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
	"github.com/runlog/runlog/internal/trash"
)

// DefaultRetention is how long a removed run stays in the trash before
// `runlog rm --purge` deletes it. Nothing else ever deletes from the trash.
const DefaultRetention = 30 * 24 * time.Hour

func newRm(e *env) *cobra.Command {
	var sel runFilter
	var yes, force, purge bool
	var olderThan string
	cmd := &cobra.Command{
		Use:   "rm [RUN...]",
		Short: "Move runs to the trash, or delete what is in it with --purge",
		Long: `Move runs to the trash of the home (trash/runs/<id>, beside runs/), where
'runlog restore' finds them again, byte for byte. Name the runs, or select
them with the filters of 'runlog ls' (--project, --tag, --status, --name;
archived runs only with --archived or --all): what 'runlog ls' lists with
the same filters is what goes.

rm lists what will go and asks first; without a terminal to ask on, it
refuses unless --yes is given. A running run is refused unless --force:
its process keeps writing into the folder, now in the trash.

--purge deletes runs from the trash for good: those named, or else those
removed longer ago than --older-than (default ` + ageText(DefaultRetention) + `; 0 empties the
trash). Runs stay in the trash until then: no other command deletes them.`,
		Example: `  runlog rm lr-1e-2
  runlog rm --project scratch --status failed
  runlog rm --project scratch --yes      # no question asked: for scripts
  runlog restore                         # what is in the trash
  runlog rm --purge                      # delete what was removed over 30 days ago
  runlog rm --purge --older-than 0 --yes # empty the trash`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if purge {
				if sel.set() || force {
					return fmt.Errorf("--purge deletes runs from the trash, by id or by --older-than; the filters and --force select runs of the home")
				}
				retention := DefaultRetention
				if cmd.Flags().Changed("older-than") {
					if len(args) > 0 {
						return fmt.Errorf("--purge takes ids or --older-than, not both")
					}
					d, err := parseAge(olderThan)
					if err != nil {
						return fmt.Errorf("--older-than: %w", err)
					}
					retention = d
				}
				return e.purge(args, retention, yes)
			}
			if cmd.Flags().Changed("older-than") {
				return fmt.Errorf("--older-than goes with --purge: rm moves runs to the trash whatever their age")
			}
			return e.rm(cmd.Context(), args, &sel, yes, force)
		},
	}
	sel.flags(cmd, true)
	fl := cmd.Flags()
	fl.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&force, "force", false, "also remove running runs")
	fl.BoolVar(&purge, "purge", false, "delete runs from the trash for good (those named, or those older than --older-than)")
	fl.StringVar(&olderThan, "older-than", "", "with --purge: delete runs removed longer ago than this (30d, 12h, 0 for all; default "+ageText(DefaultRetention)+")")
	return cmd
}

// ageText formats a retention for help texts: whole days as "30d".
func ageText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// parseAge reads an age: a Go duration (12h, 90m), a number of days or
// weeks (30d, 2w), or 0.
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("invalid age %q: use days (30d), weeks (2w), a duration (12h, 90m) or 0", s)
	if s == "0" {
		return 0, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || !(v >= 0 && v <= 1e5) {
				return 0, bad
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return d, nil
}

// runFilter holds the flags by which rm, archive and unarchive select
// runs: those of runlog ls.
type runFilter struct {
	f        store.Filter
	archived bool // only archived runs
	all      bool // archived runs and the others
}

func (p *runFilter) flags(cmd *cobra.Command, archivedFlags bool) {
	fl := cmd.Flags()
	fl.StringVar(&p.f.Project, "project", "", "runs of this project")
	fl.StringVar(&p.f.Status, "status", "", "runs with this status: "+runfmt.Statuses)
	fl.StringVar(&p.f.Tag, "tag", "", "runs with this tag")
	fl.StringVar(&p.f.Name, "name", "", "runs whose name contains this text (any case)")
	if archivedFlags {
		fl.BoolVar(&p.archived, "archived", false, "only archived runs (otherwise the filters leave them out, as ls does)")
		fl.BoolVar(&p.all, "all", false, "archived runs and the others")
		cmd.MarkFlagsMutuallyExclusive("archived", "all")
	}
}

// set reports whether any filter is given.
func (p *runFilter) set() bool {
	return p.f.Project != "" || p.f.Status != "" || p.f.Tag != "" || p.f.Name != "" || p.archived || p.all
}

// pick returns the runs a command acts on: those args name, or those the
// filters select, newest first. def says which runs the filters select by
// their archived state when neither --archived nor --all is given.
func (e *env) pick(ctx context.Context, st store.Store, args []string, p *runFilter, def store.Archived) ([]store.Run, error) {
	const how = "--project, --tag, --status or --name"
	switch {
	case len(args) > 0 && p.set():
		return nil, fmt.Errorf("name runs or select them with %s, not both", how)
	case len(args) == 0 && !p.set():
		return nil, fmt.Errorf("no runs given: name runs (by name, id or id prefix) or select them with %s", how)
	}
	if len(args) > 0 {
		var out []store.Run
		seen := map[string]bool{}
		for _, ref := range args {
			r, err := e.resolve(ctx, st, ref)
			if err != nil {
				return nil, err
			}
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
		return out, nil
	}
	status := p.f.Status
	if status != "" {
		if err := runfmt.CheckStatus(status); err != nil {
			return nil, err
		}
	}
	q := p.f
	switch {
	case p.all:
		q.Archived = store.AnyArchived
	case p.archived:
		q.Archived = store.OnlyArchived
	default:
		q.Archived = def
	}
	if status == runfmt.StatusCrashed {
		q.Status = runfmt.StatusRunning // crashed runs are stored as running
	}
	runs, err := st.Runs(ctx, q)
	if err != nil {
		return nil, err
	}
	now := e.now()
	kept := runs[:0]
	for _, r := range runs {
		if status == "" || summary.Status(&r, now) == status {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// confirm asks on the terminal whether to do action ("move 3 runs to the
// trash") and reports whether the answer is yes. Without a terminal to ask
// on it refuses, with an error that says to add --yes.
func (e *env) confirm(action string) (bool, error) {
	if !e.stdinTTY || e.stdin == nil {
		return false, fmt.Errorf("refusing to %s without confirmation: there is no terminal to ask on (stdin is not one); add --yes to do it", action)
	}
	fmt.Fprintf(e.unbuffered(), "%s%s? [y/N] ", strings.ToUpper(action[:1]), action[1:])
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// runsTable prints runs as rm and archive list them before they act.
func (e *env) runsTable(runs []store.Run) {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSTATUS\tSTARTED")
	now := e.now()
	for i := range runs {
		r := &runs[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, clip(r.Name, 32), clip(r.Project, 20), summary.Status(r, now), when(r.Start))
	}
	tw.Flush()
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func (e *env) rm(ctx context.Context, args []string, sel *runFilter, yes, force bool) error {
	st, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	home := e.homeDir()
	runs, err := e.pick(ctx, st, args, sel, store.NotArchived)
	if errors.Is(err, store.ErrNotFound) && len(args) > 0 {
		for _, ref := range args {
			if info, ok := trash.Lookup(home, ref); ok {
				return fmt.Errorf("run %s is in the trash already (removed %s): `runlog restore %s` brings it back", ref, when(info.Removed), ref)
			}
		}
	}
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "no runs match: nothing removed")
		return nil
	}
	var running []string
	now := e.now()
	for i := range runs {
		if summary.Status(&runs[i], now) == runfmt.StatusRunning {
			running = append(running, runs[i].ID+" ("+orDash(runs[i].Name)+")")
		}
	}
	if len(running) > 0 && !force {
		return fmt.Errorf("refused: %s still running: %s; stop it first, or use --force to move it to the trash while it writes",
			plural(len(running), "run is"), strings.Join(running, ", "))
	}
	e.runsTable(runs)
	if !yes {
		ok, err := e.confirm(fmt.Sprintf("move %s to the trash", plural(len(runs), "run")))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(e.stdout, "nothing removed")
			return nil
		}
	}
	by := whoAmI()
	var errs []error
	moved := 0
	for _, r := range runs {
		if err := moveToTrash(home, r, by, e.now()); err != nil {
			errs = append(errs, err)
			continue
		}
		moved++
	}
	// The store forgets runs whose folder is gone when it indexes.
	if _, err := e.index(ctx, st, ingest.Options{}); err != nil {
		if errors.Is(err, store.ErrReadOnly) {
			e.warn(fmt.Errorf("the store is read-only: it lists the removed runs until `runlog index` can write it"))
		} else {
			errs = append(errs, err)
		}
	}
	if moved > 0 {
		fmt.Fprintf(e.stdout, "moved %s to %s; `runlog restore ID` brings one back\n", plural(moved, "run"), filepath.Join(home, layout.TrashDir))
	}
	return errors.Join(errs...)
}

// trashInfo is what the trash keeps of a removed run beside its folder.
type trashInfo = trash.Info

// whoAmI names the user and machine removing runs.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// moveToTrash moves run r's folder into the trash of home, after writing
// its info file.
func moveToTrash(home string, r store.Run, by string, now time.Time) error {
	return trash.Move(home, trashInfo{ID: r.ID, Name: r.Name, Project: r.Project, Status: summary.Status(&r, now),
		Removed: float64(now.UnixMilli()) / 1000, By: by})
}

// purge deletes runs from the trash for good: those ids names, or else
// those removed longer than retention ago.
func (e *env) purge(ids []string, retention time.Duration, yes bool) error {
	home := e.homeDir()
	all, err := trash.List(home)
	if err != nil {
		return err
	}
	var gone []trashInfo
	if len(ids) > 0 {
		for _, ref := range ids {
			info, err := trash.Find(all, ref)
			if err != nil {
				return err
			}
			gone = append(gone, info)
		}
	} else {
		cutoff := float64(e.now().Add(-retention).UnixMilli()) / 1000
		for _, info := range all {
			// A run whose removal time is unknown goes only by id or with
			// --older-than 0.
			if retention == 0 || info.Removed > 0 && info.Removed < cutoff {
				gone = append(gone, info)
			}
		}
	}
	if len(gone) == 0 {
		fmt.Fprintf(e.stdout, "nothing in the trash was removed over %s ago (%s in it; --older-than 0 deletes them all)\n",
			ageText(retention), plural(len(all), "run"))
		return nil
	}
	e.trashTable(gone)
	if !yes {
		ok, err := e.confirm(fmt.Sprintf("delete %s for good", plural(len(gone), "run")))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(e.stdout, "nothing deleted")
			return nil
		}
	}
	var errs []error
	deleted := 0
	for _, info := range gone {
		if err := trash.Purge(home, info.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted++
	}
	fmt.Fprintf(e.stdout, "deleted %s for good\n", plural(deleted, "run"))
	return errors.Join(errs...)
}
