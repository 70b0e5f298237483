// Command tinylm trains a small character-level Transformer language model
// on generated children's stories and logs the run to runlog. It is
// runlog's reference workload: real forward and backward passes, real
// losses, sized to train in well under a minute on two CPU cores.
//
// Usage:
//
//	go run ./examples/tinylm -config examples/tinylm/config.json [-set key=value ...]
//	    [-name NAME] [-project PROJECT] [-home DIR] [-resume RUNID]
//
// -set overrides one config key and may repeat. -resume continues run
// RUNID from its latest checkpoint with the configuration stored in that
// checkpoint (-config is then ignored, -set still applies), for example to
// train further with -set max_steps=600.
//
// Under `runlog run --resume`, which hands the program the checkpoint to
// restore in RUNLOG_CHECKPOINT (and its step in RUNLOG_CHECKPOINT_STEP),
// tinylm restores that checkpoint the same way and continues at the step
// after it, with the optimizer state, learning-rate schedule and data
// position it had there:
//
//	runlog run --resume RUN -- tinylm -config examples/tinylm/config.json
//
// This file holds every call into the runlog client; the model and trainer
// report through the small Recorder interface.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runlog/runlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "tinylm: %v\n", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// setFlags collects repeated -set key=value flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// options are the command-line flags.
type options struct {
	configPath string
	sets       setFlags
	home       string
	project    string
	name       string
	group      string
	tags       string
	notes      string
	hypothesis string
	resume     string
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("tinylm", flag.ContinueOnError)
	fs.StringVar(&o.configPath, "config", "", "JSON config `file` (default: built-in defaults, as in config.json)")
	fs.Var(&o.sets, "set", "override a config key, as `key=value` (repeatable)")
	fs.StringVar(&o.home, "home", "", "runlog home `dir` (default $RUNLOG_HOME, else ./runlog)")
	fs.StringVar(&o.project, "project", "tinylm", "runlog project")
	fs.StringVar(&o.name, "name", "", "run name (default derived from lr, e.g. lr-1e-02)")
	fs.StringVar(&o.group, "group", "", "run group")
	fs.StringVar(&o.tags, "tags", "", "comma-separated run tags")
	fs.StringVar(&o.notes, "notes", "", "run notes")
	fs.StringVar(&o.hypothesis, "hypothesis", "", "what this run is meant to show")
	fs.StringVar(&o.resume, "resume", "", "continue run `RUNID` from its latest checkpoint")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.resume != "" {
		return resumeRun(ctx, o, stdout)
	}
	if path := os.Getenv(envCheckpoint); path != "" {
		return continueRun(ctx, o, path, stdout)
	}

	cfg := DefaultConfig()
	if o.configPath != "" {
		var err error
		if cfg, err = LoadConfig(o.configPath); err != nil {
			return err
		}
	}
	if err := cfg.ApplySets(o.sets); err != nil {
		return err
	}
	t, err := newTrainer(cfg)
	if err != nil {
		return err
	}
	name := o.name
	if name == "" {
		name = fmt.Sprintf("lr-%.0e", cfg.LR)
	}
	r, err := runlog.Init(o.runOptions(name, "", "", cfg.Map()))
	if err != nil {
		return fmt.Errorf("init run: %w", err)
	}
	return train(ctx, r, t, stdout)
}

// resumeRun reopens run o.resume, restores its latest checkpoint and
// trains on to max_steps.
func resumeRun(ctx context.Context, o options, stdout io.Writer) (err error) {
	r, err := runlog.Init(o.runOptions(o.name, o.resume, "must", nil))
	if err != nil {
		return fmt.Errorf("resume run %s: %w", o.resume, err)
	}
	path, err := LatestCheckpoint(filepath.Join(r.Dir(), "checkpoints"))
	if err != nil {
		return errors.Join(err, finish(r, 1))
	}
	t, err := restoreTrainer(path, o.sets)
	if err != nil {
		return errors.Join(err, finish(r, 1))
	}
	fmt.Fprintf(stdout, "resuming run %s from step %d\n", r.ID(), t.Step)
	if err := r.Rewind(int64(t.Step)); err != nil {
		return errors.Join(fmt.Errorf("rewind to step %d: %w", t.Step, err), finish(r, 1))
	}
	if err := r.UpdateConfig(t.Config.Map()); err != nil {
		return errors.Join(fmt.Errorf("update config: %w", err), finish(r, 1))
	}
	return train(ctx, r, t, stdout)
}

// The checkpoint `runlog run --resume` hands the program, and its step.
const (
	envCheckpoint     = "RUNLOG_CHECKPOINT"
	envCheckpointStep = "RUNLOG_CHECKPOINT_STEP"
)

// continueRun trains on from the checkpoint at path, which `runlog run
// --resume` chose: the runner has resumed the run and rewound it to the
// checkpoint's step, and the client attaches to it.
func continueRun(ctx context.Context, o options, path string, stdout io.Writer) error {
	t, err := restoreTrainer(path, o.sets)
	if err != nil {
		return err
	}
	if s := os.Getenv(envCheckpointStep); s != "" && s != strconv.Itoa(t.Step) {
		return fmt.Errorf("%s: the checkpoint holds step %d, but %s says %s", path, t.Step, envCheckpointStep, s)
	}
	r, err := runlog.Init(o.runOptions(o.name, "", "", t.Config.Map()))
	if err != nil {
		return fmt.Errorf("init run: %w", err)
	}
	fmt.Fprintf(stdout, "resuming run %s from step %d (%s)\n", r.ID(), t.Step, path)
	return train(ctx, r, t, stdout)
}

// restoreTrainer builds a trainer from the checkpoint at path, with sets
// applied to the checkpoint's config: the parameters, the optimizer's
// moments and step, and the batch sampler's state (the learning-rate
// schedule follows from the step).
func restoreTrainer(path string, sets []string) (*Trainer, error) {
	ck, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	cfg := ck.Config
	if err := cfg.ApplySets(sets); err != nil {
		return nil, err
	}
	t, err := newTrainer(cfg)
	if err != nil {
		return nil, err
	}
	if err := t.Restore(ck); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func newTrainer(cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	data, err := NewDataset(cfg.DataSeed, cfg.TrainChars, cfg.ValChars)
	if err != nil {
		return nil, err
	}
	return NewTrainer(cfg, data)
}

func (o options) runOptions(name, id, resume string, config map[string]any) runlog.Options {
	var tags []string
	for t := range strings.SplitSeq(o.tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return runlog.Options{
		Home: o.home, Project: o.project, Name: name, Group: o.group, Tags: tags,
		Notes: o.notes, Hypothesis: o.hypothesis, Config: config, ID: id, Resume: resume,
	}
}

// train runs the trainer to completion, logging to r, and finishes r with
// exit code 0 on success, 130 when interrupted and 1 on any other failure.
func train(ctx context.Context, r *runlog.Run, t *Trainer, stdout io.Writer) (err error) {
	defer func() {
		code := 0
		switch {
		case errors.Is(err, context.Canceled):
			code = 130
		case err != nil:
			code = 1
		}
		err = errors.Join(err, finish(r, code))
	}()
	for _, key := range []string{"val_loss", "val_perplexity", "train_loss"} {
		if err := r.DefineMetric(key, runlog.Minimize); err != nil {
			return fmt.Errorf("define metric %s: %w", key, err)
		}
	}
	vocab, params := t.Data.Vocab.Size(), t.Model.NumParams()
	for key, v := range map[string]any{"model": "transformer", "n_params": params, "vocab_size": vocab} {
		if err := r.SetSummary(key, v); err != nil {
			return fmt.Errorf("set summary %s: %w", key, err)
		}
	}
	fmt.Fprintf(stdout, "run %s: transformer, %d params, vocab %d, %d train / %d val tokens\n",
		r.ID(), params, vocab, len(t.Data.Train), len(t.Data.Val))

	t.Recorder = runRecorder{r}
	t.Out = stdout
	t.CheckpointDir = filepath.Join(r.Dir(), "checkpoints")
	start := time.Now()
	if err := t.Run(ctx); err != nil {
		if errors.Is(err, ErrNonFinite) {
			if aerr := r.Alert("tinylm: training diverged", err.Error(), "error"); aerr != nil {
				err = errors.Join(err, fmt.Errorf("alert: %w", aerr))
			}
		}
		return fmt.Errorf("train: %w", err)
	}
	elapsed := time.Since(start)

	summary := map[string]any{
		"final_train_loss": t.TrainLoss,
		"final_val_loss":   t.ValLoss,
		"best_val_loss":    t.BestValLoss,
		"train_seconds":    elapsed.Seconds(),
	}
	if n := t.Config.SampleChars; n > 0 {
		sample, err := t.Sample(samplePrompt, n, sampleTemperature, t.Config.Seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sample: %s\n", sample)
		summary["sample"] = sample
	}
	for key, v := range summary {
		if err := r.SetSummary(key, v); err != nil {
			return fmt.Errorf("set summary %s: %w", key, err)
		}
	}
	fmt.Fprintf(stdout, "done in %.1fs: train loss %.3f, val loss %.3f (best %.3f)\n",
		elapsed.Seconds(), t.TrainLoss, t.ValLoss, t.BestValLoss)
	return nil
}

func finish(r *runlog.Run, code int) error {
	if err := r.Finish(code); err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return nil
}

// runRecorder adapts a runlog run to the trainer's Recorder.
type runRecorder struct{ r *runlog.Run }

var _ RichRecorder = runRecorder{}

func (rr runRecorder) LogStep(step int64, values map[string]float64) error {
	return rr.r.LogStep(step, values)
}

func (rr runRecorder) LogText(step int64, key, text string) error {
	return rr.r.LogText(step, key, text)
}

func (rr runRecorder) LogHistogram(step int64, key string, values []float64, bins int) error {
	return rr.r.LogHistogram(step, key, values, bins)
}

func (rr runRecorder) Checkpoint(path string, step int64, valLoss float64) error {
	return rr.r.LogArtifact(path, runlog.Artifact{
		Kind:     "checkpoint",
		Step:     step,
		Metadata: map[string]any{"val_loss": valLoss},
	})
}
