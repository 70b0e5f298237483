package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/mlflow"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store/backend"
	"github.com/runlog/runlog/internal/store/postgres"
)

// EnvFiles names the environment variable that gives the team server's
// files bucket when no --files flag does.
const EnvFiles = "RUNLOG_FILES"

func newServerCmd(e *env) *cobra.Command {
	var (
		f               serveFlags
		storeURL, files string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve a team: one replica of a server whose runs are in PostgreSQL and whose files are in S3",
		Long: `Serve the team store: the web UI, the JSON API under /api/v1, the MLflow API
and remote ingest, as runlog ui does for a home, but with every run in a
PostgreSQL database (--store or $RUNLOG_STORE) and the files of runs in an
S3-compatible bucket (--files or $RUNLOG_FILES). Nothing that matters is kept
on this machine's disk: a batch a client streams is acknowledged once it is
stored and indexed in PostgreSQL. Start as many replicas as you like, on as
many machines, behind a proxy (nginx, haproxy): any replica answers any
request, live updates reach browsers on every replica, and the first replica
to start on an empty database creates the schema (docs/team-server.md).

The address, token and TLS flags are runlog ui's.`,
		Example: `  export RUNLOG_STORE=postgres://runlog:secret@db.lab:5432/runlog
  export RUNLOG_FILES='s3://runlog/files?endpoint=https://s3.lab:9000'
  RUNLOG_TOKEN=$(cat /etc/runlog/token) runlog server --addr 10.0.0.5:7707 --behind-tls
  runlog pull RUN                          # a run folder again, from the team store`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr := backend.Address(storeURL)
			if !postgres.IsDSN(addr) {
				return fmt.Errorf("runlog server needs a PostgreSQL store: give --store postgres://user@host:5432/db or set %s (runlog ui serves one home without one)", backend.EnvStore)
			}
			db, err := postgres.Open(cmd.Context(), addr)
			if err != nil {
				return err
			}
			// The server closes db. Its home is a scratch folder, removed
			// on exit: nothing in it matters.
			scratch, err := os.MkdirTemp("", "runlog-server-")
			if err != nil {
				db.Close()
				return err
			}
			defer os.RemoveAll(scratch)
			opts := server.Options{Home: scratch, Team: db, TeamMounts: teamMounts(e.warn, mlflow.Options{MaxArtifactBytes: f.maxArtifact})}
			f.store = addr
			if files == "" {
				files = os.Getenv(EnvFiles)
			}
			if files != "" {
				loc, err := objstore.ParseURL(files)
				if err == nil {
					opts.Files, err = objstore.New(loc, objstore.Options{})
				}
				if err != nil {
					db.Close()
					return fmt.Errorf("--files: %w", err)
				}
			}
			return f.serve(e, cmd, opts, "the team store in PostgreSQL "+db.Addr())
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&storeURL, "store", "", "the PostgreSQL database of runs, postgres://user:password@host:5432/db (default $"+backend.EnvStore+")")
	fl.StringVar(&files, "files", "", "the S3 bucket of files, s3://bucket/prefix?endpoint=https://host:port (default $"+EnvFiles+"; credentials from $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY)")
	return cmd
}
