// Package cli implements the runlog command: one file per subcommand, each
// a constructor returning a *cobra.Command.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/version"
)

// Main runs the runlog command with args and returns its exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("RUNLOG_CPUPROFILE"); path != "" { // for performance work
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	// A short-lived process: collecting garbage less often is faster.
	debug.SetGCPercent(400)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	e := &env{stdout: out, rawOut: os.Stdout, stderr: os.Stderr, now: time.Now, tty: isTerminal(os.Stdout), cols: width(os.Stdout),
		stdin: os.Stdin, stdinTTY: isTerminal(os.Stdin)}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if ferr := out.Flush(); err == nil && ferr != nil && !errors.Is(ferr, syscall.EPIPE) {
		err = ferr
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "runlog: %v\n", err)
		return 1
	}
	return 0
}

// env is what every command shares: where the home is and where output
// goes.
type env struct {
	home   string    // from --home; resolved by homeDir
	stdout io.Writer // buffered; see unbuffered
	rawOut io.Writer // what stdout writes to, if it buffers
	stderr io.Writer
	now    func() time.Time
	quiet  bool
	tty    bool // stdout is a terminal
	cols   int  // its width
	// stdin is where confirmations are read, when it is a terminal
	// (stdinTTY): commands never wait for a script's stdin.
	stdin    io.Reader
	stdinTTY bool
}

// unbuffered flushes stdout and returns a writer that reaches the terminal
// at once, for output that must be seen as it comes.
func (e *env) unbuffered() io.Writer {
	if f, ok := e.stdout.(interface{ Flush() error }); ok {
		f.Flush()
	}
	if e.rawOut != nil {
		return e.rawOut
	}
	return e.stdout
}

// colors reports whether output may use colors: on a terminal, unless
// NO_COLOR is set (https://no-color.org).
func (e *env) colors() bool {
	_, no := os.LookupEnv("NO_COLOR")
	return e.tty && !no
}

// width returns the width of the output in columns.
func (e *env) width() int {
	if e.cols > 0 {
		return e.cols
	}
	return 100
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "runlog",
		Short: "Track training runs: metrics by step and wallclock time, configs, checkpoints",
		Long: `runlog is an experiment tracker for people who train models.

Runs are written by the clients (Go, Python) into run folders under a home:
--home, else $RUNLOG_HOME, else ./runlog. Every command indexes new data in
those folders into the embedded store (runlog.db in the home) before it
answers, so what you see is always current.`,
		Example: `  runlog ls                       # all runs, newest first
  runlog ls --project tinylm --status finished
  runlog show lr-3e-3             # a run by name, id or id prefix
  runlog export k3v9 -o results/  # metrics.csv, metrics.json, summary.json, config.json`,
		Version:       version.Get().Long(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("runlog {{.Version}}\n") // runlog 0.1.0 (commit …, built …)
	root.PersistentFlags().StringVar(&e.home, "home", "", "runlog home folder (default $RUNLOG_HOME, else ./runlog)")
	root.PersistentFlags().BoolVarP(&e.quiet, "quiet", "q", false, "do not print warnings and progress")
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(newLs(e))
	root.AddCommand(newShow(e))
	root.AddCommand(newExport(e))
	root.AddCommand(newIndex(e))
	root.AddCommand(newPlot(e))
	root.AddCommand(newWatch(e))
	root.AddCommand(newCompare(e))
	root.AddCommand(newReport(e))
	root.AddCommand(newNote(e))
	root.AddCommand(newTag(e))
	root.AddCommand(newRename(e))
	root.AddCommand(newArchive(e))
	root.AddCommand(newUnarchive(e))
	root.AddCommand(newRm(e))
	root.AddCommand(newRestore(e))
	root.AddCommand(newRun(e))
	root.AddCommand(newCheckpoints(e))
	root.AddCommand(newDoctor(e))
	root.AddCommand(newImport(e))
	root.AddCommand(newUI(e))
	root.AddCommand(newServerCmd(e))
	root.AddCommand(newUser(e))
	root.AddCommand(newKey(e))
	root.AddCommand(newProject(e))
	root.AddCommand(newAudit(e))
	root.AddCommand(newPull(e))
	root.AddCommand(newSync(e))
	root.AddCommand(newSweep(e))
	return root
}

// homeDir returns the home in use.
func (e *env) homeDir() string { return layout.Home(e.home) }

// errNoHome is returned when the home does not exist.
var errNoHome = errors.New("no runlog home")

// open opens the store of the home and indexes new data into it. Problems
// with individual run logs are printed as warnings, never fatal; a store
// that cannot be written is still read.
func (e *env) open(ctx context.Context) (*sqlite.DB, error) {
	home := e.homeDir()
	if _, err := os.Stat(home); err != nil {
		abs, _ := filepath.Abs(home)
		return nil, fmt.Errorf("%w at %s: runs are written there by the runlog clients; use --home or $RUNLOG_HOME to point at another one", errNoHome, abs)
	}
	db, err := sqlite.Open(layout.Store(home))
	if err != nil {
		return nil, err
	}
	if db.ReadOnly() {
		e.warn(fmt.Errorf("%s is read-only: showing what was indexed before, new data in run folders is not shown", db.Path()))
		return db, nil
	}
	if _, err := e.index(ctx, db, ingest.Options{}); err != nil {
		if errors.Is(err, store.ErrReadOnly) {
			e.warn(fmt.Errorf("%s is read-only: showing what was indexed before, new data in run folders is not shown", db.Path()))
			return db, nil
		}
		db.Close()
		return nil, err
	}
	return db, nil
}

// index brings the store up to date with the run folders, showing progress
// on a terminal when there is much to do.
func (e *env) index(ctx context.Context, st store.Store, opt ingest.Options) (ingest.Result, error) {
	opt.Warn = e.warn
	if !e.quiet && isTerminal(e.stderr) {
		var last time.Time
		opt.Progress = func(done, total int) {
			if total < 50 || (time.Since(last) < 100*time.Millisecond && done < total) {
				return
			}
			last = time.Now()
			fmt.Fprintf(e.stderr, "\rindexing runs: %d/%d", done, total)
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	res, err := ingest.Home(ctx, st, e.homeDir(), opt)
	if err != nil {
		return res, fmt.Errorf("index %s: %w", e.homeDir(), err)
	}
	return res, nil
}

func (e *env) warn(err error) {
	if !e.quiet {
		fmt.Fprintf(e.stderr, "runlog: warning: %v\n", err)
	}
}

// openRun opens the store, as open does, and finds the run ref names.
func (e *env) openRun(ctx context.Context, ref string) (*sqlite.DB, store.Run, error) {
	st, err := e.open(ctx)
	if err != nil {
		return nil, store.Run{}, err
	}
	r, err := e.resolve(ctx, st, ref)
	if err != nil {
		st.Close()
		return nil, store.Run{}, err
	}
	return st, r, nil
}

// resolve finds the run a command line names. A name that several runs
// share means the newest of them, with a note saying so.
func (e *env) resolve(ctx context.Context, st store.Store, ref string) (store.Run, error) {
	id, err := st.Resolve(ctx, ref)
	var amb *store.AmbiguousError
	if errors.As(err, &amb) && amb.ByName {
		id, err = amb.IDs[0], nil
		e.warn(fmt.Errorf("%d runs are named %q; using the newest, %s (name another by its id)", len(amb.IDs), ref, id))
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if near := store.Closest(ctx, st, ref); len(near) > 0 {
				return store.Run{}, fmt.Errorf("%w; did you mean: %s?", err, strings.Join(near, ", "))
			}
			return store.Run{}, fmt.Errorf("%w; `runlog ls` lists the runs", err)
		}
		return store.Run{}, err
	}
	return st.Run(ctx, id)
}
