package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
)

func newRestore(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore [RUN...]",
		Short: "Bring runs back from the trash; without RUN, list the trash",
		Long: `Move runs that 'runlog rm' put in the trash back to the runs of the home,
byte for byte, and index them again: they are what they were before rm.
A run is named by its id, a unique id prefix or its name. Without RUN,
list what the trash holds, newest first.

A run whose id is in the home's runs again (a copy put back by hand) is
not restored over it: move that folder away first, or delete the trashed
copy with 'runlog rm --purge ID'.`,
		Example: `  runlog restore
  runlog restore k3v9x2ab
  runlog restore --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			home := e.homeDir()
			all, err := listTrash(home)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				if asJSON {
					return json.NewEncoder(e.stdout).Encode(all)
				}
				if len(all) == 0 {
					fmt.Fprintf(e.stdout, "the trash of %s is empty\n", home)
					return nil
				}
				e.trashTable(all)
				return nil
			}
			if asJSON {
				return fmt.Errorf("--json lists the trash: give it without RUN")
			}
			var todo []trashInfo
			for _, ref := range args {
				info, err := findTrashed(all, ref)
				if err != nil {
					return err
				}
				if _, err := os.Lstat(layout.RunDir(home, info.ID)); err == nil {
					return fmt.Errorf("run %s is in %s again: restoring would put two runs in one folder; move that folder out of the home first, or delete the trashed copy with `runlog rm --purge %s`",
						info.ID, filepath.Join(home, layout.RunsDir), info.ID)
				}
				todo = append(todo, info)
			}
			st, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			var errs []error
			for _, info := range todo {
				dir := layout.RunDir(home, info.ID)
				if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
					return err
				}
				if err := os.Rename(layout.TrashRunDir(home, info.ID), dir); err != nil {
					errs = append(errs, fmt.Errorf("restore run %s: %w", info.ID, err))
					continue
				}
				atomicfile.SyncDir(filepath.Dir(dir))
				os.Remove(layout.TrashInfo(home, info.ID))
				if _, err := ingest.Run(cmd.Context(), st, dir, ingest.Options{Warn: e.warn}); err != nil {
					if errors.Is(err, store.ErrReadOnly) {
						e.warn(fmt.Errorf("restored %s, but the store is read-only: `runlog index` lists it once it can be written", dir))
					} else {
						errs = append(errs, fmt.Errorf("restored %s, but indexing it failed (`runlog index` retries): %w", dir, err))
					}
				}
				fmt.Fprintf(e.stdout, "restored %s  %s\n", orDash(info.Name), info.ID)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "list the trash as JSON")
	return cmd
}

// listTrash returns what the trash of home holds, most recently removed
// first. A folder without a readable info file is listed by its id alone,
// with its removal time unknown.
func listTrash(home string) ([]trashInfo, error) {
	entries, err := os.ReadDir(filepath.Join(home, layout.TrashDir, layout.RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return []trashInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the trash: %w", err)
	}
	out := []trashInfo{}
	for _, ent := range entries {
		if !ent.IsDir() || layout.CheckID(ent.Name()) != nil {
			continue
		}
		info, _ := trashed(home, ent.Name())
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Removed > out[j].Removed })
	return out, nil
}

// trashed returns what the trash of home says of run id, and whether the
// run's folder is in it.
func trashed(home, id string) (trashInfo, bool) {
	info := trashInfo{ID: id}
	if layout.CheckID(id) != nil {
		return info, false
	}
	if fi, err := os.Stat(layout.TrashRunDir(home, id)); err != nil || !fi.IsDir() {
		return info, false
	}
	if data, err := os.ReadFile(layout.TrashInfo(home, id)); err == nil {
		json.Unmarshal(data, &info)
		info.ID = id
	}
	return info, true
}

// findTrashed finds the run ref names among those in the trash: an id, a
// unique id prefix or a unique name.
func findTrashed(all []trashInfo, ref string) (trashInfo, error) {
	var byPrefix, byName []trashInfo
	for _, info := range all {
		switch {
		case info.ID == ref:
			return info, nil
		case strings.HasPrefix(info.ID, ref):
			byPrefix = append(byPrefix, info)
		case info.Name == ref:
			byName = append(byName, info)
		}
	}
	for _, found := range [][]trashInfo{byPrefix, byName} {
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		var ids []string
		for _, info := range found {
			ids = append(ids, info.ID+" ("+orDash(info.Name)+")")
		}
		return trashInfo{}, fmt.Errorf("%q matches %d runs in the trash: %s; use an id", ref, len(found), strings.Join(ids, ", "))
	}
	return trashInfo{}, fmt.Errorf("run %q is not in the trash: `runlog restore` lists what is", ref)
}

// trashTable prints runs in the trash.
func (e *env) trashTable(list []trashInfo) {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSTATUS\tREMOVED\tBY")
	for _, info := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", info.ID, clip(info.Name, 32), clip(info.Project, 20),
			orDash(info.Status), when(info.Removed), orDash(info.By))
	}
	tw.Flush()
}

// jsonIndent encodes v as indented JSON with a final newline.
func jsonIndent(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	return append(data, '\n'), err
}
