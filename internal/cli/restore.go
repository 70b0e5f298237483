package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/trash"
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
			all, err := trash.List(home)
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
				info, err := trash.Find(all, ref)
				if err != nil {
					return err
				}
				if _, err := os.Lstat(layout.RunDir(home, info.ID)); err == nil {
					_, err := trash.Restore(home, info.ID) // refuses, and says why
					return err
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
				dir, err := trash.Restore(home, info.ID)
				if err != nil {
					errs = append(errs, err)
					continue
				}
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
