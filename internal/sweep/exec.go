package sweep

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/gitinfo"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runner"
)

// Exec launches members as `runlog run` does, through the runner.
type Exec struct {
	Home  string
	State *State
	// Environment describes what the command runs with, probed once for
	// the whole sweep (runner.Environment); nil probes it for each member.
	Environment map[string]string
	// Git is the code the members run from (gitinfo.Probe), probed once
	// for the whole sweep: every member records the same commit and diff.
	// nil probes it for each member.
	Git    *gitinfo.Info
	Median *Median   // the early stopping rule, if any
	Output io.Writer // the members' output besides training.log; nil for none
	Warn   func(error)
	// Resume holds, by member index, the checkpoint a member resumed from
	// a run continues from (RUNLOG_CHECKPOINT) and its step.
	Resume map[int]Checkpoint
}

// Checkpoint is a checkpoint file of a run and its step.
type Checkpoint struct {
	Path string
	Step int64
}

// Launch runs a member's command as a run to its end.
func (x *Exec) Launch(ctx context.Context, m *MemberState, slot Slot) Outcome {
	st := x.State
	files, err := x.files(m)
	if err != nil {
		return Outcome{Status: runfmt.StatusFailed, ExitCode: 1, Reason: err.Error()}
	}
	out := x.Output
	if out == nil {
		out = io.Discard
	}
	env := map[string]string{"RUNLOG_SWEEP": st.Name, "RUNLOG_SWEEP_MEMBER": strconv.Itoa(m.Index)}
	for k, v := range slot.Env {
		env[k] = v
	}
	o := runner.Options{
		Home: x.Home, Project: st.Project, Name: m.Name, Group: st.Name,
		Config: m.Config, Command: Command(st.Command, st.Program, &m.Member, files),
		Setenv: env, Environment: x.Environment, Git: x.Git,
		Parse: "auto", SpikeFactor: 10,
		Stdout: out, Stderr: out, Warn: x.Warn,
	}
	if _, err := os.Stat(layout.RunLog(x.Home, m.RunID)); err == nil {
		o.Resume = m.RunID // its run began before: continue it
		if c, ok := x.Resume[m.Index]; ok {
			o.Checkpoint, o.CkptStep = c.Path, c.Step
		}
	} else {
		o.ID = m.RunID
	}
	var stopped atomic.Pointer[string] // why the rule stopped it
	if x.Median != nil {
		o.Observe = func(step int64, values map[string]float64) string {
			r := x.Median.Observe(m.Index, step, values)
			if r != "" {
				stopped.Store(&r)
			}
			return r
		}
	}
	res, err := runner.Run(context.WithoutCancel(ctx), o)
	if err != nil {
		code := res.ExitCode
		if code == 0 {
			code = 127
		}
		return Outcome{Status: runfmt.StatusFailed, ExitCode: code, Reason: err.Error()}
	}
	reason := ""
	if r := stopped.Load(); res.Status == runfmt.StatusStopped && r != nil {
		reason = *r
	} else if res.Status != runfmt.StatusFinished {
		reason = fmt.Sprintf("exit code %d", res.ExitCode)
	}
	return Outcome{Status: res.Status, ExitCode: res.ExitCode, Reason: reason}
}

// files writes the files the member's command names.
func (x *Exec) files(m *MemberState) (Files, error) {
	var f Files
	dir := FilesDir(x.Home, x.State.Name)
	if Uses(x.State.Command, "${args_json_file}") {
		f.ArgsJSON = filepath.Join(dir, strconv.Itoa(m.Index)+".args.json")
		if err := atomicfile.WriteFile(f.ArgsJSON, append(ArgsJSON(&m.Member), '\n')); err != nil {
			return f, err
		}
	}
	if Uses(x.State.Command, "${config}") {
		f.Config = filepath.Join(dir, strconv.Itoa(m.Index)+".config.json")
		if err := atomicfile.WriteFile(f.Config, ProgramConfig(&m.Member)); err != nil {
			return f, err
		}
	}
	if abs, err := filepath.Abs(f.ArgsJSON); err == nil && f.ArgsJSON != "" {
		f.ArgsJSON = abs
	}
	if abs, err := filepath.Abs(f.Config); err == nil && f.Config != "" {
		f.Config = abs
	}
	return f, nil
}
