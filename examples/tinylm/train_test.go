package main

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testConfig is a configuration small enough to train in a fraction of a
// second.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.TrainChars, cfg.ValChars = 20_000, 4_000
	cfg.ContextLength, cfg.DModel, cfg.NLayers, cfg.NHeads, cfg.DFF = 16, 16, 1, 2, 32
	cfg.BatchSize, cfg.MaxSteps, cfg.WarmupSteps = 8, 60, 5
	cfg.LR, cfg.MinLR = 1e-2, 1e-3
	cfg.EvalInterval, cfg.EvalBatches = 20, 2
	cfg.SampleChars = 0
	return cfg
}

func newTestTrainer(t *testing.T, cfg Config) *Trainer {
	t.Helper()
	data, err := NewDataset(cfg.DataSeed, cfg.TrainChars, cfg.ValChars)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// fakeRecorder remembers what the trainer reports.
type fakeRecorder struct {
	steps       []int64
	values      []map[string]float64
	checkpoints []string
}

func (f *fakeRecorder) LogStep(step int64, values map[string]float64) error {
	f.steps = append(f.steps, step)
	f.values = append(f.values, values)
	return nil
}

func (f *fakeRecorder) Checkpoint(path string, step int64, valLoss float64) error {
	f.checkpoints = append(f.checkpoints, path)
	return nil
}

func TestTrainerLearns(t *testing.T) {
	cfg := testConfig()
	tr := newTestTrainer(t, cfg)
	rec := &fakeRecorder{}
	var out strings.Builder
	tr.Recorder, tr.Out, tr.CheckpointDir = rec, &out, t.TempDir()
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	initial := math.Log(float64(tr.Data.Vocab.Size()))
	if tr.ValLoss > 0.8*initial {
		t.Errorf("validation loss %.3f after %d steps, want well below ln(vocab) = %.3f", tr.ValLoss, cfg.MaxSteps, initial)
	}
	// Step 0 and every eval step carry val_loss; every training step
	// carries the training metrics; each step is one record.
	var evals, trains int
	for i, v := range rec.values {
		step := rec.steps[i]
		if step != int64(i) {
			t.Fatalf("record %d is for step %d", i, step)
		}
		if _, ok := v["val_loss"]; ok {
			evals++
			if step%int64(cfg.EvalInterval) != 0 {
				t.Errorf("val_loss logged at step %d", step)
			}
			if math.Abs(v["val_perplexity"]-math.Exp(v["val_loss"])) > 1e-9 {
				t.Errorf("val_perplexity %v is not exp(val_loss %v)", v["val_perplexity"], v["val_loss"])
			}
		}
		if step == 0 {
			continue
		}
		trains++
		for _, key := range []string{"train_loss", "learning_rate", "tokens_per_sec", "grad_norm"} {
			if x, ok := v[key]; !ok || !(x >= 0) || math.IsInf(x, 0) {
				t.Errorf("step %d: %s = %v, %v", step, key, x, ok)
			}
		}
	}
	if want := cfg.MaxSteps/cfg.EvalInterval + 1; evals != want || trains != cfg.MaxSteps {
		t.Errorf("logged %d evaluations and %d steps, want %d and %d", evals, trains, want, cfg.MaxSteps)
	}
	if len(rec.checkpoints) != cfg.MaxSteps/cfg.EvalInterval {
		t.Errorf("registered checkpoints %v", rec.checkpoints)
	}
	for _, p := range rec.checkpoints {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if lines := strings.Count(out.String(), "\n"); lines != cfg.MaxSteps/cfg.EvalInterval+1 {
		t.Errorf("printed %d progress lines:\n%s", lines, out.String())
	}
}

// TestResume checks that training interrupted at a checkpoint and resumed
// from it ends where uninterrupted training ends, up to the float32
// rounding of the stored state.
func TestResume(t *testing.T) {
	cfg := testConfig()
	whole := newTestTrainer(t, cfg)
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	first := newTestTrainer(t, cfg)
	first.Config.MaxSteps = 40 // stop early, keeping the 60-step schedule
	first.CheckpointDir = dir
	if err := first.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	path, err := LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "step_000040.ckpt" {
		t.Fatalf("latest checkpoint %s, want step_000040.ckpt", path)
	}
	ck, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	ck.Config.MaxSteps = cfg.MaxSteps
	second := newTestTrainer(t, ck.Config)
	if err := second.Restore(ck); err != nil {
		t.Fatal(err)
	}
	if second.Step != 40 || second.Opt.Step != 40 {
		t.Fatalf("restored step %d, optimizer step %d, want 40", second.Step, second.Opt.Step)
	}
	if err := second.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(second.ValLoss - whole.ValLoss); d > 1e-3 {
		t.Errorf("resumed val loss %.6f, uninterrupted %.6f", second.ValLoss, whole.ValLoss)
	}
	if d := math.Abs(second.TrainLoss - whole.TrainLoss); d > 1e-3 {
		t.Errorf("resumed train loss %.6f, uninterrupted %.6f (same batches expected)", second.TrainLoss, whole.TrainLoss)
	}
}

func TestRestoreRejectsOtherShapes(t *testing.T) {
	cfg := testConfig()
	ck := newTestTrainer(t, cfg).Checkpoint()
	cfg.DFF *= 2
	if err := newTestTrainer(t, cfg).Restore(ck); err == nil {
		t.Error("restored a checkpoint into a model of another shape")
	}
}

func TestTrainerStopsOnNonFinite(t *testing.T) {
	tr := newTestTrainer(t, testConfig())
	tr.Model.head.Data[0] = math.NaN()
	if err := tr.Run(context.Background()); !errors.Is(err, ErrNonFinite) {
		t.Errorf("Run() = %v, want ErrNonFinite", err)
	}
}

func TestTrainerCanceled(t *testing.T) {
	tr := newTestTrainer(t, testConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled", err)
	}
	if tr.Step != 0 {
		t.Errorf("took %d steps after cancellation", tr.Step)
	}
}

func TestSample(t *testing.T) {
	tr := newTestTrainer(t, testConfig())
	const prompt = "Once upon a time"
	got, err := tr.Sample(prompt, 40, 0.8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, prompt) || len(got) > len(prompt)+40 {
		t.Errorf("Sample = %q", got)
	}
	again, _ := tr.Sample(prompt, 40, 0.8, 1)
	if again != got {
		t.Errorf("same seed sampled %q then %q", got, again)
	}
	if _, err := tr.Sample("", 5, 1, 1); err == nil {
		t.Error("sampling from an empty prompt succeeded")
	}
	if _, err := tr.Sample("~", 5, 1, 1); err == nil {
		t.Error("sampling from a prompt outside the vocabulary succeeded")
	}
}
