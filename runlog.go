// Package runlog is the Go client of runlog, an experiment tracker for
// people who train models. A training program creates a run, logs metrics
// at gradient steps, registers checkpoints and finishes:
//
//	run, err := runlog.Init(runlog.Options{Project: "tinystories", Config: cfg})
//	if err != nil { … }
//	defer run.Finish(0)
//	for step := int64(0); step < steps; step++ {
//		run.LogStep(step, map[string]float64{"train_loss": loss, "learning_rate": lr})
//	}
//
// Each run writes its folder <home>/runs/<id>/ and the append-only run.log in
// it; the runlog command indexes those folders. Logging never waits for the
// disk: records are encoded into a buffer that a background goroutine writes
// and flushes at least once a second, so a crash of the program loses at
// most the last second. All methods of Run are safe for concurrent use.
//
// With RUNLOG_URL (or Options.URL) set, a run is also streamed to a runlog
// server (`runlog ui` on another machine) in the background; the local
// run.log stays the durable copy (docs/server.md).
package runlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"time"

	"github.com/runlog/runlog/internal/gitinfo"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/version"
)

// Version is the version of this client, recorded in every run it writes.
var Version = version.String()

// Options describe the run that Init creates or resumes. Only what is set
// is recorded.
type Options struct {
	Home       string         // run home; "" means $RUNLOG_HOME, else ./runlog
	Project    string         // "" means "default"
	Name       string         // a human name; need not be unique
	Group      string         // runs that belong together: a sweep, DDP ranks
	Tags       []string       // labels to filter by
	Notes      string         // free text
	Hypothesis string         // what this run is meant to show
	Config     map[string]any // hyperparameters; nested JSON-able values
	ID         string         // explicit run id (a new run gets a random one)
	Resume     string         // "", "never", "allow" or "must"; see Init

	// FlushInterval is how often buffered records are written; 0 means 1 s.
	FlushInterval time.Duration
	// HeartbeatInterval is how often an idle run writes a heartbeat so that
	// it is not taken for crashed; 0 means 10 s.
	HeartbeatInterval time.Duration
	// DisableGit leaves out the git commit, branch and dirty state of the
	// working directory, which Init otherwise records (asking git, which
	// takes a few milliseconds).
	DisableGit bool
	// Command is the command line recorded for the run; nil means this
	// program's (os.Args). A program that runs another, as `runlog run`
	// does, records that one.
	Command []string
	// Env adds to the environment recorded for the run (language and
	// framework versions, GPUs), beside the Go version and OS.
	Env map[string]string

	// URL is a runlog server (`runlog ui` elsewhere) to stream the run to
	// as it logs, besides writing it locally; "" means $RUNLOG_URL, and
	// "-" none. See docs/server.md.
	URL string
	// Token is the server's access token; "" means $RUNLOG_TOKEN.
	Token string
	// StreamTimeout is how long Finish waits for the server to receive
	// the end of the log before it gives up with a warning (`runlog sync`
	// sends the rest later); 0 means 5 s.
	StreamTimeout time.Duration
	// Upload says which registered files (LogArtifact) a streaming run
	// uploads to the server, in the background: "none", "best", "best+last"
	// or "all" (upload.go); "" means $RUNLOG_UPLOAD, else "best+last".
	Upload string
	// UploadTimeout is how long Finish waits for the uploads queued
	// before it leaves the rest to `runlog sync`; 0 means one minute.
	UploadTimeout time.Duration
}

// Goal says whether lower or higher values of a metric are better.
type Goal string

// Goals of a metric.
const (
	Minimize Goal = runfmt.GoalMinimize
	Maximize Goal = runfmt.GoalMaximize
)

// Artifact describes a file registered with LogArtifact.
type Artifact struct {
	Kind     string         // "checkpoint", "model", "plot" or "file" (the default)
	Step     int64          // the step the file belongs to; -1 for none
	Metadata map[string]any // e.g. {"val_loss": 2.31} for a checkpoint
}

// Errors returned by the client.
var (
	ErrFinished = errors.New("runlog: run already finished")
	ErrExists   = errors.New("runlog: run already exists")
	ErrNotFound = errors.New("runlog: run not found")
	ErrInvalid  = runfmt.ErrInvalid
)

// Environment variables through which a supervisor such as `runlog run`
// hands a run to the program it starts (docs/run-log-format.md).
const (
	EnvRunID  = "RUNLOG_RUN_ID"
	EnvConfig = "RUNLOG_CONFIG"
)

// Init creates a run, or resumes one, and starts its background writer.
//
// Started by `runlog run` (RUNLOG_RUN_ID set, and no Options.ID), Init
// attaches to the run the runner created instead: it writes a log of its
// own in that run's folder, starts from the runner's config (RUNLOG_CONFIG)
// updated with Options.Config, and its name, project, tags, notes and
// hypothesis fill those the runner was not given.
//
// With Resume "" or "never", Init creates a new run and fails with ErrExists
// if Options.ID names an existing one. With "allow" it resumes the run
// Options.ID if it exists and creates it otherwise; with "must" the run must
// exist. A resumed run continues its run.log: sequence numbers, keys and the
// step counter carry on, and the time until the resume does not count as
// active time.
func Init(opts Options) (*Run, error) {
	project := opts.Project // as given: attach records "default" as no project
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	home := layout.Home(opts.Home)
	if id := os.Getenv(EnvRunID); id != "" && opts.ID == "" {
		return attach(home, id, project, opts)
	}
	if err := os.MkdirAll(filepath.Join(home, layout.RunsDir), 0o755); err != nil {
		return nil, fmt.Errorf("runlog: create home: %w", err)
	}
	if opts.ID != "" {
		_, err := os.Stat(layout.RunLog(home, opts.ID))
		exists := err == nil
		switch {
		case exists && (opts.Resume == "allow" || opts.Resume == "must"):
			return resume(home, opts)
		case exists:
			return nil, fmt.Errorf("%w: %s (pass Resume: \"allow\" to continue it)", ErrExists, opts.ID)
		case opts.Resume == "must":
			return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, opts.ID, home)
		}
	}
	return create(home, opts)
}

func checkOptions(o *Options) error {
	switch o.Resume {
	case "", "never", "allow", "must":
	default:
		return fmt.Errorf("%w: Resume %q: want \"never\", \"allow\" or \"must\"", ErrInvalid, o.Resume)
	}
	if o.Resume == "must" && o.ID == "" {
		return fmt.Errorf("%w: Resume \"must\" needs an ID", ErrInvalid)
	}
	if o.ID != "" {
		if err := layout.CheckID(o.ID); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if o.Project == "" {
		o.Project = "default"
	}
	for what, s := range map[string]string{"name": o.Name, "project": o.Project, "group": o.Group} {
		if err := runfmt.CheckName(what, s); err != nil {
			return err
		}
	}
	if len(o.Tags) > runfmt.MaxTags {
		return fmt.Errorf("%w: %d tags, the limit is %d", ErrInvalid, len(o.Tags), runfmt.MaxTags)
	}
	for _, t := range o.Tags {
		if t == "" {
			return fmt.Errorf("%w: empty tag", ErrInvalid)
		}
		if err := runfmt.CheckName("tag", t); err != nil {
			return err
		}
	}
	if len(o.Notes) > runfmt.MaxTextLen || len(o.Hypothesis) > runfmt.MaxTextLen {
		return fmt.Errorf("%w: notes and hypothesis are limited to %d bytes", ErrInvalid, runfmt.MaxTextLen)
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 10 * time.Second
	}
	return nil
}

// create makes a new run folder and writes the first records of its log
// synchronously, so that even a run that crashes at once is visible.
func create(home string, opts Options) (*Run, error) {
	id := opts.ID
	var dir string
	for try := 0; ; try++ {
		if opts.ID == "" {
			id = layout.NewID()
		}
		dir = layout.RunDir(home, id)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if errors.Is(err, os.ErrExist) && opts.ID == "" && try < 10 {
			continue
		}
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExists, id)
		}
		return nil, fmt.Errorf("runlog: create run folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, layout.RunLogFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runlog: create run log: %w", err)
	}
	r := newRun(home, dir, id, f, runfmt.NewEncoder(0, nil), opts)
	r.config = cloneMap(opts.Config)
	err = r.enc.Begin(header(id, opts, now()))
	if err == nil && r.config != nil {
		err = r.enc.JSON(runfmt.TypeConfig, r.config)
	}
	buf := r.enc.Take(nil)
	if err == nil {
		_, err = f.Write(buf)
	}
	if err == nil && r.config != nil {
		err = r.writeConfigFile()
	}
	if err != nil {
		f.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("runlog: start run: %w", err)
	}
	r.stream = newStreamer(opts, id, layout.RunLogFile, filepath.Join(dir, layout.RunLogFile), int64(len(buf)))
	r.start()
	return r, nil
}

// attach starts a log of this process in the folder of run id, created by
// another process: run.go-<pid>-<n>.log. The run's name, project and the
// like in opts go into its header, to fill what the creator left empty.
func attach(home, id, project string, opts Options) (*Run, error) {
	if err := layout.CheckID(id); err != nil {
		return nil, fmt.Errorf("runlog: %s: %w", EnvRunID, err)
	}
	dir := layout.RunDir(home, id)
	if _, err := os.Stat(layout.RunLog(home, id)); err != nil {
		return nil, fmt.Errorf("runlog: attach to run %s from %s: %w", id, EnvRunID, err)
	}
	var f *os.File
	var err error
	var name string
	for n := 1; ; n++ {
		name = fmt.Sprintf("run.go-%d-%d.log", os.Getpid(), n)
		f, err = os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if err == nil || !errors.Is(err, os.ErrExist) || n > 1000 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("runlog: attach to run %s: %w", id, err)
	}
	r := newRun(home, dir, id, f, runfmt.NewEncoder(0, nil), opts)
	if path := os.Getenv(EnvConfig); path != "" {
		if data, err := os.ReadFile(path); err == nil {
			json.Unmarshal(data, &r.config)
		}
	}
	hdr := runfmt.Header{Format: 1, ID: id, Attach: true, Time: now(), PID: os.Getpid(), Command: os.Args, Writer: "runlog-go/" + Version,
		Name: opts.Name, Project: project, Group: opts.Group, Tags: opts.Tags, Notes: opts.Notes, Hypothesis: opts.Hypothesis}
	hdr.Host, _ = os.Hostname()
	err = r.enc.Begin(hdr)
	buf := r.enc.Take(nil)
	if err == nil {
		_, err = f.Write(buf)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("runlog: attach to run %s: %w", id, err)
	}
	r.stream = newStreamer(opts, id, name, filepath.Join(dir, name), int64(len(buf)))
	r.start()
	if opts.Config != nil {
		if err := r.UpdateConfig(opts.Config); err != nil {
			r.Finish(1)
			return nil, err
		}
	}
	return r, nil
}

// resume continues an existing run's log after the last good record,
// cutting off a torn tail left by a crash. It holds the log's lock while it
// reads it and appends the resume record, as every writer that takes
// turns on a log does; the run then appends alone.
func resume(home string, opts Options) (*Run, error) {
	path := layout.RunLog(home, opts.ID)
	a, err := runfmt.OpenAppend(path, runfmt.AppendOptions{})
	if err != nil {
		return nil, fmt.Errorf("runlog: resume %s: %w", opts.ID, err)
	}
	st, enc := a.State(), a.Encoder()
	host, _ := os.Hostname()
	err = enc.JSON(runfmt.TypeResume, runfmt.Resume{Time: now(), Host: host, PID: os.Getpid()})
	if err == nil {
		err = a.Flush()
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("runlog: resume %s: %w", opts.ID, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runlog: resume %s: %w", opts.ID, err)
	}
	r := newRun(home, layout.RunDir(home, opts.ID), opts.ID, f, enc, opts)
	r.step = st.LastStep + 1
	r.config = st.Config
	r.stream = newStreamer(opts, opts.ID, layout.RunLogFile, path, a.End())
	r.start()
	if opts.Config != nil {
		if err := r.UpdateConfig(opts.Config); err != nil {
			r.Finish(1)
			return nil, err
		}
	}
	return r, nil
}

func header(id string, o Options, t float64) runfmt.Header {
	h := runfmt.Header{
		Format: 1, ID: id, Name: o.Name, Project: o.Project, Group: o.Group,
		Tags: o.Tags, Notes: o.Notes, Hypothesis: o.Hypothesis, Time: t,
		PID: os.Getpid(), Command: os.Args,
		Env:    map[string]string{"go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH},
		Writer: "runlog-go/" + Version,
	}
	if o.Command != nil {
		h.Command = o.Command
	}
	for k, v := range o.Env {
		h.Env[k] = v
	}
	h.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	}
	h.Dir, _ = os.Getwd()
	if !o.DisableGit {
		if g, err := gitinfo.Inspect(context.Background(), h.Dir); err == nil {
			h.Git = g
		}
	}
	return h
}

// now returns the current time in unix seconds.
func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
