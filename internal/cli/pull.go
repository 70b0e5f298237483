package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/backend"
	"github.com/runlog/runlog/internal/store/postgres"
)

func newPull(e *env) *cobra.Command {
	var storeURL, files, to string
	cmd := &cobra.Command{
		Use:   "pull RUN",
		Short: "Rebuild a run's folder from the team store: its logs byte for byte, and its files",
		Long: `Rebuild the folder of a run that clients streamed to a team server
(runlog server) from the team store: each log (run.log, run.<name>.log,
training.log) byte for byte as the server acknowledged it, from PostgreSQL
(--store or $RUNLOG_STORE), and the run's files from the bucket (--files or
$RUNLOG_FILES), each verified against its sha256. A server with a bucket
seals the older stretches of logs into it: pulling those needs --files too.
RUN is an id, a unique id prefix or a name. The folder goes to the home's
runs/<id> unless --to names another; an existing folder is left alone.`,
		Example: `  RUNLOG_STORE=postgres://runlog@db.lab/runlog runlog pull 20261206-0514-ab12
  runlog pull my-run --to /tmp/my-run --files 's3://runlog/files?endpoint=https://s3.lab:9000'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			addr := backend.Address(storeURL)
			if !postgres.IsDSN(addr) {
				return fmt.Errorf("runlog pull reads a team store: give --store postgres://user@host:5432/db or set %s", backend.EnvStore)
			}
			db, err := postgres.Open(ctx, addr)
			if err != nil {
				return err
			}
			defer db.Close()
			id := args[0]
			sizes, err := db.LogSizes(ctx, id)
			if err != nil {
				return err
			}
			if len(sizes) == 0 { // not an exact id: a prefix or a name
				run, err := e.resolve(ctx, db, id)
				if err != nil {
					return err
				}
				id = run.ID
				if sizes, err = db.LogSizes(ctx, id); err != nil {
					return err
				}
			}
			if len(sizes) == 0 {
				return fmt.Errorf("run %s: %w in the team store's logs", id, store.ErrNotFound)
			}
			if to == "" {
				to = layout.RunDir(e.homeDir(), id)
			}
			if _, err := os.Stat(to); err == nil {
				return fmt.Errorf("%s exists: pull writes a new folder; remove it or give another with --to", to)
			}
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			root, err := os.OpenRoot(to)
			if err != nil {
				return err
			}
			defer root.Close()
			if files == "" {
				files = os.Getenv(EnvFiles)
			}
			var st objstore.Store
			if files != "" {
				if st, err = objstore.OpenURL(files, objstore.Options{}); err != nil {
					return fmt.Errorf("--files: %w", err)
				}
				if bucket, ok := st.(*objstore.S3); ok {
					db.SetLogObjects(bucket) // the logs' sealed stretches
				}
			}
			out := e.unbuffered()
			for name, size := range sizes {
				err := atomicfile.WriteIn(root, name, func(w io.Writer) error {
					n, err := io.Copy(w, db.OpenLog(ctx, id, name, 0))
					if err == nil && n != size {
						err = fmt.Errorf("read %d bytes of %d", n, size)
					}
					return err
				})
				if errors.Is(err, postgres.ErrSealedUnavailable) && st == nil {
					err = fmt.Errorf("%w; give the team's bucket with --files or $%s", err, EnvFiles)
				}
				if err != nil {
					return fmt.Errorf("pull %s of run %s: %w", name, id, err)
				}
				fmt.Fprintf(out, "%s\t%d bytes\n", name, size)
			}
			if st != nil {
				n, err := pullFiles(cmd, st, id, root, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%d files from %s\n", n, files)
			}
			abs, _ := filepath.Abs(to)
			fmt.Fprintf(out, "pulled run %s into %s\n", id, abs)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&storeURL, "store", "", "the team's PostgreSQL database, postgres://user:password@host:5432/db (default $"+backend.EnvStore+")")
	fl.StringVar(&files, "files", "", "the team's bucket of files, s3://bucket/prefix?endpoint=… (default $"+EnvFiles+"); without one, only the logs are pulled")
	fl.StringVar(&to, "to", "", "the folder to write (default the home's runs/<id>)")
	return cmd
}

// pullFiles copies the files st holds for run into root, verified against
// their sha256 as they are read, and returns how many.
func pullFiles(cmd *cobra.Command, st objstore.Store, run string, root *os.Root, out io.Writer) (int, error) {
	ctx := cmd.Context()
	list, err := st.List(ctx, run)
	if err != nil && !errors.Is(err, objstore.ErrNotFound) {
		return 0, fmt.Errorf("list the files of run %s: %w", run, err)
	}
	for _, ent := range list {
		err := atomicfile.WriteIn(root, ent.Path, func(w io.Writer) error {
			r, _, err := st.Open(ctx, run, ent.Path)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(w, r)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("pull %s of run %s: %w", ent.Path, run, err)
		}
		fmt.Fprintf(out, "%s\t%d bytes\n", ent.Path, ent.Size)
	}
	return len(list), nil
}
