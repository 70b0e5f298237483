package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinySets shrinks the committed config so that a whole run takes a
// fraction of a second.
var tinySets = []string{
	"-set", "train_chars=20000", "-set", "val_chars=4000",
	"-set", "context_length=16", "-set", "d_model=16", "-set", "n_layers=1",
	"-set", "n_heads=2", "-set", "d_ff=32", "-set", "batch_size=4",
	"-set", "max_steps=20", "-set", "warmup_steps=5", "-set", "eval_interval=10",
	"-set", "eval_batches=2", "-set", "sample_chars=20",
}

// TestRunAndResume runs the command end to end against the runlog client,
// then resumes the run to train further.
func TestRunAndResume(t *testing.T) {
	home := t.TempDir()
	var out strings.Builder
	args := append([]string{"-config", "config.json", "-home", home, "-name", "smoke"}, tinySets...)
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	runs, err := os.ReadDir(filepath.Join(home, "runs"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs in home: %v, %v", runs, err)
	}
	id := runs[0].Name()
	ckpts := filepath.Join(home, "runs", id, "checkpoints")
	if latest, err := LatestCheckpoint(ckpts); err != nil || filepath.Base(latest) != checkpointName(20) {
		t.Fatalf("latest checkpoint %q, %v; want %s", latest, err, checkpointName(20))
	}
	for _, want := range []string{"step     0/20", "step    20/20", "sample: Once upon a time", "done in"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if err := run(context.Background(), []string{"-home", home, "-resume", id, "-set", "max_steps=30"}, &out); err != nil {
		t.Fatalf("resume: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "resuming run "+id+" from step 20") || !strings.Contains(out.String(), "step    30/30") {
		t.Errorf("resume output:\n%s", out.String())
	}
	if latest, err := LatestCheckpoint(ckpts); err != nil || filepath.Base(latest) != checkpointName(30) {
		t.Errorf("latest checkpoint after resume %q, %v; want %s", latest, err, checkpointName(30))
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"-set", "dropout=0.1"}, `unknown config key "dropout"`},
		{"bad value", []string{"-set", "lr=fast"}, "set lr"},
		{"invalid config", []string{"-set", "n_heads=3"}, "n_heads"},
		{"missing config file", []string{"-config", "nope.json"}, "load config"},
		{"stray argument", []string{"train"}, "unexpected arguments"},
		{"resume unknown run", []string{"-resume", "nosuchrun"}, "resume run nosuchrun"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			err := run(context.Background(), append([]string{"-home", home}, tt.args...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
			}
			if tt.name != "resume unknown run" {
				if runs, _ := os.ReadDir(filepath.Join(home, "runs")); len(runs) != 0 {
					t.Errorf("a rejected command created %d runs", len(runs))
				}
			}
		})
	}
}

// TestContinueFromRunlogCheckpoint: handed a checkpoint in
// RUNLOG_CHECKPOINT, as `runlog run --resume` does, tinylm continues at
// the step after it with the state it had there — the same batches, the
// same learning rate, nearly the same losses as the run that never
// stopped (the checkpoint keeps float32 copies of float64 state).
func TestContinueFromRunlogCheckpoint(t *testing.T) {
	home := t.TempDir()
	var whole strings.Builder
	args := append([]string{"-config", "config.json", "-home", home, "-name", "whole"}, tinySets...)
	if err := run(context.Background(), args, &whole); err != nil {
		t.Fatalf("run: %v\n%s", err, whole.String())
	}
	runs, _ := os.ReadDir(filepath.Join(home, "runs"))
	ckpt := filepath.Join(home, "runs", runs[0].Name(), "checkpoints", checkpointName(10))

	t.Setenv(envCheckpoint, ckpt)
	t.Setenv(envCheckpointStep, "10")
	var resumed strings.Builder
	args = append([]string{"-config", "config.json", "-home", t.TempDir(), "-name", "resumed"}, tinySets...)
	if err := run(context.Background(), args, &resumed); err != nil {
		t.Fatalf("continue: %v\n%s", err, resumed.String())
	}
	if !strings.Contains(resumed.String(), "from step 10") || strings.Contains(resumed.String(), "step     0/20") {
		t.Fatalf("continued run's output must start after step 10:\n%s", resumed.String())
	}
	a, b := evalLine(t, whole.String(), 20), evalLine(t, resumed.String(), 20)
	if a.lr != b.lr || math.Abs(a.train-b.train) > 0.02 || math.Abs(a.val-b.val) > 0.02 {
		t.Errorf("step 20 after continuing from step 10: %+v; without stopping: %+v", b, a)
	}

	t.Setenv(envCheckpointStep, "11")
	err := run(context.Background(), args, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "holds step 10") {
		t.Errorf("a checkpoint whose step is not RUNLOG_CHECKPOINT_STEP: %v", err)
	}
}

type evalAt struct{ train, val, lr float64 }

// evalLine parses the progress line tinylm prints at an evaluation step.
func evalLine(t *testing.T, out string, step int) evalAt {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var s, total int
		var e evalAt
		var ppl float64
		if n, _ := fmt.Sscanf(line, "step %d/%d  train %f  val %f  ppl %f  lr %e", &s, &total, &e.train, &e.val, &ppl, &e.lr); n == 6 && s == step {
			return e
		}
	}
	t.Fatalf("no progress line for step %d in:\n%s", step, out)
	return evalAt{}
}
