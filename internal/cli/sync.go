package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/version"
)

func newSync(e *env) *cobra.Command {
	var serverURL, token, files string
	cmd := &cobra.Command{
		Use:   "sync [RUN...]",
		Short: "Send runs to a runlog server: what it has not received yet",
		Long: `Send the run folders of this home to a runlog server (runlog ui on another
machine): each run's logs (run.log, the logs of attached processes and
training.log) are appended to the server's copy from where it ends, so sync
sends only what the server lacks. It can be interrupted and run again at any
time, and running it twice sends nothing the second time. Clients that
stream to a server while they train (RUNLOG_URL) leave to sync whatever the
server missed while it was down.

Then each run's files go: the artifacts and checkpoints it registered,
chosen by --files (the policy the clients upload with while they train:
none, best, best+last or all; default $RUNLOG_UPLOAD, else best+last: every
artifact that is not a checkpoint, the best checkpoints by their
validation score and the latest), its media files, and whatever a
client's background upload left queued in the run folder (uploads.json).
The server checks each file's sha256 and keeps nothing partial; a file it
holds already is not sent again, and uploads.json records what the server
acknowledged, so that a second sync sends nothing. The files stay here:
the run folder is the durable copy.

Without RUN, every run of the home is sent. RUN is a run id, a unique prefix
of one, or a run name.`,
		Example: `  RUNLOG_URL=http://gpu-box:7707 runlog sync
  runlog sync --files all --url http://gpu-box:7707 baseline
  runlog sync --url http://127.0.0.1:7707 baseline lr-3e-3
  RUNLOG_TOKEN=… runlog sync --url https://runlog.example.org`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if serverURL == "" {
				serverURL = os.Getenv(remote.EnvURL)
			}
			if serverURL == "" {
				return fmt.Errorf("no server: pass --url or set %s (e.g. http://gpu-box:7707)", remote.EnvURL)
			}
			if token == "" {
				token = os.Getenv(remote.EnvToken)
			}
			if files == "" {
				files = os.Getenv(remote.EnvUpload)
			}
			policy, err := remote.ParsePolicy(files)
			if err != nil {
				return fmt.Errorf("--files: %w", err)
			}
			ids, err := e.syncIDs(ctx, args)
			if err != nil {
				return err
			}
			c := &remote.Client{URL: serverURL, Token: token, Agent: "runlog-sync/" + version.String()}
			return e.syncRuns(ctx, c, ids, policy)
		},
	}
	cmd.Flags().StringVar(&serverURL, "url", "", "the server (default $RUNLOG_URL)")
	cmd.Flags().StringVar(&token, "token", "", "the server's access token (default $RUNLOG_TOKEN)")
	cmd.Flags().StringVar(&files, "files", "", "which registered files to send: none, best, best+last or all (default $RUNLOG_UPLOAD, else best+last)")
	return cmd
}

// syncIDs returns the runs to send: those named, else every run folder.
func (e *env) syncIDs(ctx context.Context, refs []string) ([]string, error) {
	home := e.homeDir()
	if len(refs) == 0 {
		entries, err := os.ReadDir(filepath.Join(home, layout.RunsDir))
		if err != nil {
			return nil, fmt.Errorf("%w at %s: %v", errNoHome, home, err)
		}
		var ids []string
		for _, en := range entries {
			if en.IsDir() && layout.CheckID(en.Name()) == nil {
				ids = append(ids, en.Name())
			}
		}
		return ids, nil
	}
	st, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	runs, err := e.resolveAll(ctx, st, refs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids, nil
}

// syncRuns pushes the logs of each run, going on past runs that fail.
func (e *env) syncRuns(ctx context.Context, c *remote.Client, ids []string, policy remote.Policy) error {
	start := time.Now()
	var sent int64
	var failed []string
	for _, id := range ids {
		n, err := e.syncRun(ctx, c, id)
		sent += n
		if err == nil {
			n, err = e.syncFiles(ctx, c, id, policy)
			sent += n
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !remote.Transient(err) && isAuthError(err) {
				return fmt.Errorf("%s: %w (pass the server's token with --token or %s)", c.URL, err, remote.EnvToken)
			}
			e.warn(fmt.Errorf("run %s: %w", id, err))
			failed = append(failed, id)
		}
	}
	fmt.Fprintf(e.stdout, "%d runs, %s sent to %s in %s\n", len(ids)-len(failed), display.Bytes(sent), c.URL,
		time.Since(start).Round(time.Millisecond))
	if len(failed) > 0 {
		return fmt.Errorf("%d runs could not be sent (%s); run sync again to retry", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// syncRun pushes one run folder's logs, run.log first: the server indexes
// the others once it has the run's own log.
func (e *env) syncRun(ctx context.Context, c *remote.Client, id string) (int64, error) {
	dir := layout.RunDir(e.homeDir(), id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var streams []string
	for _, en := range entries {
		if name := en.Name(); !en.IsDir() && remote.ValidStream(name) && name != layout.RunLogFile {
			streams = append(streams, name)
		}
	}
	sort.Strings(streams)
	if _, err := os.Stat(filepath.Join(dir, layout.RunLogFile)); err == nil {
		streams = append([]string{layout.RunLogFile}, streams...)
	}
	var sent int64
	for _, stream := range streams {
		res, err := c.Push(ctx, filepath.Join(dir, stream), id, stream)
		sent += res.Sent
		if err != nil {
			return sent, err
		}
		if res.Sent > 0 && !e.quiet {
			fmt.Fprintf(e.stdout, "%s  %s  %s sent\n", id, stream, display.Bytes(res.Sent))
		}
	}
	return sent, nil
}

func isAuthError(err error) bool {
	var se *remote.StatusError
	return errors.As(err, &se) && (se.Code == 401 || se.Code == 403)
}

// syncFiles sends the files of a run that the server lacks
// (remote.SyncFiles), printing a line for each.
func (e *env) syncFiles(ctx context.Context, c *remote.Client, id string, policy remote.Policy) (int64, error) {
	return c.SyncFiles(ctx, layout.RunDir(e.homeDir(), id), id, policy, func(path string, res remote.FileResult, err error) {
		switch {
		case err != nil:
			e.warn(fmt.Errorf("run %s: %s: %w", id, path, err))
		case e.quiet:
		case res.Deduplicated:
			fmt.Fprintf(e.stdout, "%s  %s  already there\n", id, path)
		default:
			fmt.Fprintf(e.stdout, "%s  %s  %s sent\n", id, path, display.Bytes(res.Size))
		}
	})
}
