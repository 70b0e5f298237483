// Package runner is `runlog run`: it starts a training program as a run,
// records its config, command, code version and environment, captures its
// output, samples the machine it uses, watches its metrics for NaN and
// spikes, prunes its checkpoints, and records how it ended.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/gitinfo"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/sysmetrics"
)

// Environment variables the runner sets for the program, beside
// RUNLOG_HOME, RUNLOG_RUN_ID and RUNLOG_CONFIG (see runlog.EnvRunID).
const (
	EnvRunDir         = "RUNLOG_RUN_DIR"         // the run folder
	EnvCheckpoint     = "RUNLOG_CHECKPOINT"      // on resume: the checkpoint to restore
	EnvCheckpointStep = "RUNLOG_CHECKPOINT_STEP" // and its step
)

// Options describe a run to start.
type Options struct {
	Home       string
	Project    string
	Name       string
	Group      string
	Tags       []string
	Notes      string
	Hypothesis string
	Config     map[string]any // the final config (LoadConfig)
	Command    []string       // the program and its arguments
	ID         string         // the id of a new run; "" for a random one

	// Setenv adds to the program's environment (a sweep's
	// CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS).
	Setenv map[string]string
	// Environment describes what the program runs with, as Environment
	// returns it; nil asks Python and nvidia-smi. Runs of one command,
	// such as a sweep's, share one.
	Environment map[string]string
	// Git is the code the program runs from, as gitinfo.Probe returns it;
	// nil probes the working directory. Runs of the same code, such as a
	// sweep's, share one: its diff is written into each run's folder.
	Git *gitinfo.Info
	// Observe, if set, sees the values of every step the program logs; a
	// reason it returns stops the program, and the run ends as stopped.
	Observe func(step int64, values map[string]float64) (stop string)

	Resume     string // id of a run to continue
	Checkpoint string // with Resume: the checkpoint to restore ("" for none)
	CkptStep   int64  // its step; the run rewinds to it

	TotalSteps  int64         // for the ETA; 0 means from the config
	Parse       string        // "auto" (until a client attaches), "on" or "off"
	SysInterval time.Duration // 0 means 5 s
	StopOnNaN   bool
	SpikeFactor float64 // alert when a loss exceeds this × its recent median; 0 disables
	KeepLast    int     // keep this many checkpoints; 0 keeps all
	KeepBest    bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	StatusLine     bool // draw a status line on Stderr (a terminal)
	Warn           func(error)
}

// Result is how a run ended.
type Result struct {
	RunID    string
	Dir      string
	ExitCode int    // the program's, or 128+signal
	Status   string // finished, failed, killed or stopped (by Observe)
}

// Run starts the program and supervises it to its end.
func Run(ctx context.Context, o Options) (Result, error) {
	if len(o.Command) == 0 {
		return Result{}, errors.New("no command to run: put it after --, as in runlog run -- python train.py")
	}
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	path, err := exec.LookPath(o.Command[0])
	if err != nil {
		return Result{}, fmt.Errorf("cannot run %q: %w", o.Command[0], err)
	}
	env := o.Environment
	if env == nil {
		env = Environment(ctx, o.Command)
	}
	run, err := start(o, env)
	if err != nil {
		return Result{}, err
	}
	res := Result{RunID: run.ID(), Dir: run.Dir()}
	if g := recordDiff(ctx, run, o.Git); g != nil {
		o.Warn(g)
	}
	tlog, err := openTrainingLog(filepath.Join(run.Dir(), layout.TrainingLog))
	if err != nil {
		run.FinishStatus(runfmt.StatusFailed, 1, err.Error())
		return res, fmt.Errorf("training.log: %w", err)
	}
	defer tlog.close()

	cmd := exec.Command(path, o.Command[1:]...)
	cmd.Args = o.Command
	cmd.Env = childEnv(o, run)
	cmd.Stdin = o.Stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return res, err
	}

	s := &supervisor{o: o, run: run, tlog: tlog, term: &terminal{out: o.Stdout, err: o.Stderr, atBOL: true, enabled: o.StatusLine}}
	s.mon = newMonitor(run, &s.o, s.stop, s.say)
	if o.Resume != "" && o.Checkpoint != "" {
		// Until the program logs, the machine's metrics are logged at the
		// checkpoint's step, where the run continues.
		s.lastStep = o.CkptStep
	}
	if s.total = o.TotalSteps; s.total == 0 {
		s.total = TotalSteps(o.Config)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		run.FinishStatus(runfmt.StatusFailed, 127, err.Error())
		return res, fmt.Errorf("start %s: %w", o.Command[0], err)
	}
	s.cmd = cmd
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); capture(stdout, "stdout", o.Stdout, s.term, tlog, s.line) }()
	go func() { defer wg.Done(); capture(stderr, "stderr", o.Stderr, s.term, tlog, s.errLine) }()
	done := make(chan struct{})
	go s.watch(ctx, done)
	go s.forward(sigs, done)

	wg.Wait() // output ends when the program (and what it started) closes it
	waitErr := cmd.Wait()
	close(done)
	s.mon.poll()
	s.term.finish()
	res.ExitCode, res.Status = s.outcome(waitErr)
	// What supervising cost, beside what the program used: docs/runner.md.
	program := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	run.SetSummary("runlog/program_cpu_seconds", program.Seconds())
	run.SetSummary("runlog/runner_cpu_seconds", selfCPU().Seconds())
	if err := run.FinishStatus(res.Status, res.ExitCode, s.errorText(res)); err != nil {
		o.Warn(fmt.Errorf("record the end of the run: %w", err))
	}
	return res, nil
}

// start creates the run, or resumes the one named.
func start(o Options, env map[string]string) (*runlog.Run, error) {
	ro := runlog.Options{
		Home: o.Home, Project: o.Project, Name: o.Name, Group: o.Group, Tags: o.Tags, Notes: o.Notes,
		Hypothesis: o.Hypothesis, Config: o.Config, Command: o.Command, Env: env,
	}
	if o.Resume != "" {
		ro.ID, ro.Resume = o.Resume, "must"
	} else {
		ro.ID = o.ID
	}
	// The runner's own environment must not make it attach to a run.
	if id, ok := os.LookupEnv(runlog.EnvRunID); ok {
		os.Unsetenv(runlog.EnvRunID)
		defer os.Setenv(runlog.EnvRunID, id)
	}
	run, err := runlog.Init(ro)
	if err != nil {
		return nil, err
	}
	if o.Resume != "" && o.Checkpoint != "" {
		if err := run.Rewind(o.CkptStep); err != nil {
			run.Finish(1)
			return nil, err
		}
	}
	return run, nil
}

// recordDiff saves the uncommitted changes of the working tree, if any —
// changed tracked files and new untracked ones — as an artifact of the run,
// so that the code that ran can be recovered. code is what gitinfo.Probe
// found, nil to probe the working directory now.
func recordDiff(ctx context.Context, run *runlog.Run, code *gitinfo.Info) error {
	if code == nil {
		wd, _ := os.Getwd()
		code = gitinfo.Probe(ctx, wd)
	}
	patch := code.Diff
	if code.Git == nil || len(patch) == 0 {
		return nil // not a git checkout, or nothing uncommitted
	}
	dir := filepath.Join(run.Dir(), layout.ArtifactsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save the git diff: %w", err)
	}
	path := filepath.Join(dir, "git.diff")
	if err := os.WriteFile(path, patch, 0o644); err != nil {
		return fmt.Errorf("save the git diff: %w", err)
	}
	return run.LogArtifact(path, runlog.Artifact{Kind: runfmt.KindFile, Step: -1, Metadata: map[string]any{"what": "uncommitted changes and untracked files (git diff HEAD)"}})
}

// childEnv is the program's environment: the runner's, with the run handed
// over.
func childEnv(o Options, run *runlog.Run) []string {
	home, _ := filepath.Abs(layout.Home(o.Home))
	set := map[string]string{
		layout.EnvHome:   home,
		runlog.EnvRunID:  run.ID(),
		runlog.EnvConfig: filepath.Join(run.Dir(), layout.ConfigFile),
		EnvRunDir:        run.Dir(),
		// Python writes through pipes in blocks unless told otherwise; the
		// output would arrive late and out of order.
		"PYTHONUNBUFFERED": "1",
	}
	for k, v := range o.Setenv {
		set[k] = v
	}
	if o.Checkpoint != "" {
		set[EnvCheckpoint] = o.Checkpoint
		set[EnvCheckpointStep] = strconv.FormatInt(o.CkptStep, 10)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := set[k]; !ours && k != EnvCheckpoint && k != EnvCheckpointStep {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// supervisor holds what Run shares between its goroutines.
type supervisor struct {
	o     Options
	run   *runlog.Run
	tlog  *trainingLog
	term  *terminal
	mon   *monitor
	cmd   *exec.Cmd
	total int64

	mu         sync.Mutex
	lastStep   int64
	stepSeen   bool
	tailErr    []string // the last lines of stderr: the traceback of a crash
	signaled   os.Signal
	killedHard bool
}

// line handles a line of the program's stdout: metrics in it are logged
// unless a client logs them.
func (s *supervisor) line(b []byte) {
	if s.o.Parse == "off" || s.o.Parse != "on" && s.mon.clientAttached() {
		return
	}
	step, hasStep, values, ok := parseLine(string(b))
	if !ok {
		return
	}
	s.mu.Lock()
	if !hasStep {
		step = max(s.lastStep, 0)
	}
	s.lastStep, s.stepSeen = step, true
	s.mu.Unlock()
	if err := s.run.LogStep(step, values); err != nil {
		s.o.Warn(fmt.Errorf("metrics in output: %w", err))
		return
	}
	s.mon.observe(step, values)
}

// errLine keeps the last lines of stderr, and reads metrics there too:
// logging libraries write to stderr.
func (s *supervisor) errLine(b []byte) {
	s.mu.Lock()
	s.tailErr = append(s.tailErr, string(b))
	if len(s.tailErr) > 60 {
		s.tailErr = s.tailErr[1:]
	}
	s.mu.Unlock()
	s.line(b)
}

// watch samples the machine, follows attached logs and redraws the status
// line until done.
func (s *supervisor) watch(ctx context.Context, done chan struct{}) {
	interval := s.o.SysInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	sampler := sysmetrics.New(s.cmd.Process.Pid)
	sampler.Sample(ctx) // the first sample sets the base for rates
	sys := time.NewTicker(interval)
	defer sys.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	polls := 0
	for {
		select {
		case <-done:
			return
		case <-sys.C:
			m := sampler.Sample(ctx)
			if len(m) > 0 {
				s.run.LogStep(s.step(), m)
			}
		case <-tick.C:
			if polls++; polls%2 == 0 {
				s.mon.poll()
				s.tlog.flush()
			}
			s.term.setStatus(s.mon.status(s.total))
		}
	}
}

// step is the step system metrics are logged at: the latest training step.
func (s *supervisor) step() int64 {
	s.mon.mu.Lock()
	step := s.mon.step
	s.mon.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(step, s.lastStep, 0)
}

// forward passes the signals the runner gets on to the program. A Ctrl-C
// typed in the terminal reaches the program directly, as it is in the same
// process group; a second signal kills it.
func (s *supervisor) forward(sigs chan os.Signal, done chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-sigs:
			s.mu.Lock()
			second := s.signaled != nil
			if !second {
				s.signaled = sig
			}
			s.mu.Unlock()
			switch {
			case second:
				s.mu.Lock()
				s.killedHard = true
				s.mu.Unlock()
				s.cmd.Process.Signal(syscall.SIGKILL)
			case sig == syscall.SIGINT && foregroundTerminal():
				// the terminal sent it to the program too
			default:
				s.cmd.Process.Signal(sig)
			}
		}
	}
}

// say tells the person at the terminal what the monitor saw, on a line
// of its own.
func (s *supervisor) say(msg string) {
	s.term.write(s.o.Stderr, []byte("\nrunlog: "+msg+"\n"))
}

// stop ends the program because of what the monitor saw.
func (s *supervisor) stop(reason string) {
	s.say(reason)
	s.cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		time.Sleep(30 * time.Second)
		s.cmd.Process.Signal(syscall.SIGKILL)
	}()
}

// outcome turns how the program ended into an exit code and a status.
func (s *supervisor) outcome(waitErr error) (int, string) {
	ps := s.cmd.ProcessState
	code := ps.ExitCode()
	ws, _ := ps.Sys().(syscall.WaitStatus)
	s.mu.Lock()
	signaled := s.signaled
	s.mu.Unlock()
	switch {
	case s.mon.stopReason() != "" && s.mon.observerStopped():
		return exitCode(code, ws), runfmt.StatusStopped
	case s.mon.stopReason() != "":
		return exitCode(code, ws), runfmt.StatusFailed
	case ws.Signaled():
		switch ws.Signal() {
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL, syscall.SIGHUP:
			return 128 + int(ws.Signal()), runfmt.StatusKilled
		}
		return 128 + int(ws.Signal()), runfmt.StatusFailed
	case code == 0:
		return 0, runfmt.StatusFinished
	case signaled != nil || code == 130 || code == 143:
		return code, runfmt.StatusKilled // stopped on request, by its own handler
	}
	_ = waitErr
	return code, runfmt.StatusFailed
}

func exitCode(code int, ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return code
}

// errorText says why a run did not finish: the monitor's reason, the
// signal, or the end of the program's stderr (its traceback).
func (s *supervisor) errorText(res Result) string {
	if r := s.mon.stopReason(); r != "" {
		return r
	}
	if res.Status == runfmt.StatusFinished {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		fmt.Fprintf(&b, "killed by signal %v\n", ws.Signal())
	} else if s.signaled != nil {
		fmt.Fprintf(&b, "stopped by %v (exit code %d)\n", s.signaled, res.ExitCode)
	} else {
		fmt.Fprintf(&b, "exit code %d\n", res.ExitCode)
	}
	if n := len(s.tailErr); n > 0 {
		b.WriteString(strings.Join(s.tailErr, "\n"))
	}
	return strings.TrimSpace(b.String())
}
