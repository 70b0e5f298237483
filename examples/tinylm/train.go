package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"
)

// Recorder receives what the trainer measures. main.go adapts a runlog run
// to it, which keeps the model and trainer free of the runlog client.
type Recorder interface {
	// LogStep records the metrics of one step.
	LogStep(step int64, values map[string]float64) error
	// Checkpoint registers a checkpoint file written after step.
	Checkpoint(path string, step int64, valLoss float64) error
}

// RichRecorder is a Recorder that also keeps texts and histograms, as
// main.go's runlog run does: the trainer then logs a generated sample
// ("sample") at every evaluation and, per layer, a histogram of its
// gradient norms ("grad_norm/<layer>").
type RichRecorder interface {
	Recorder
	LogText(step int64, key, text string) error
	LogHistogram(step int64, key string, values []float64, bins int) error
}

// ErrNonFinite reports that the loss or gradient norm became NaN or infinite.
var ErrNonFinite = errors.New("loss is not finite")

// Trainer trains a Model on a Dataset with AdamW.
type Trainer struct {
	Config   Config
	Data     *Dataset
	Model    *Model
	Opt      *AdamW
	Schedule Schedule
	Step     int // updates completed

	Recorder      Recorder  // nil records nothing
	Out           io.Writer // progress lines; nil prints nothing
	CheckpointDir string    // "" disables checkpoints

	// Results of the latest step and evaluation.
	TrainLoss, ValLoss, BestValLoss float64

	pcg       *rand.PCG  // batch sampler state, saved in checkpoints
	rng       *rand.Rand // draws from pcg
	acts      *Activations
	x, y      []int
	evalStart []int // fixed validation windows
}

// NewTrainer builds a freshly initialized model and optimizer for cfg.
func NewTrainer(cfg Config, data *Dataset) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(data.Train) <= cfg.ContextLength+1 || len(data.Val) <= cfg.ContextLength+1 {
		return nil, fmt.Errorf("new trainer: data shorter than one window of %d tokens", cfg.ContextLength+1)
	}
	model, err := NewModel(cfg.ModelConfig(data.Vocab.Size()), cfg.InitStd, rand.New(rand.NewPCG(cfg.Seed, 1)))
	if err != nil {
		return nil, fmt.Errorf("new trainer: %w", err)
	}
	n := cfg.BatchSize * cfg.ContextLength
	t := &Trainer{
		Config: cfg,
		Data:   data,
		Model:  model,
		Opt:    NewAdamW(model.Params, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay),
		Schedule: Schedule{
			MaxLR: cfg.LR, MinLR: cfg.MinLR,
			WarmupSteps: cfg.WarmupSteps, TotalSteps: cfg.MaxSteps,
		},
		BestValLoss: math.Inf(1),
		pcg:         rand.NewPCG(cfg.Seed, 2),
		acts:        model.NewActivations(cfg.BatchSize, cfg.ContextLength),
		x:           make([]int, n),
		y:           make([]int, n),
		evalStart:   evalOffsets(len(data.Val), cfg.ContextLength, cfg.EvalBatches*cfg.BatchSize),
	}
	t.rng = rand.New(t.pcg)
	return t, nil
}

// Run trains until Config.MaxSteps updates are done, evaluating and saving
// a checkpoint every Config.EvalInterval steps and after the last one. A
// fresh trainer first evaluates the untrained model, logged as step 0. Run
// stops early when ctx is done or the loss stops being finite.
func (t *Trainer) Run(ctx context.Context) error {
	cfg := t.Config
	if t.Step == 0 {
		metrics := map[string]float64{}
		if err := t.validate(0, metrics); err != nil {
			return err
		}
		if err := t.record(0, metrics); err != nil {
			return err
		}
		if err := t.recordRich(0); err != nil {
			return err
		}
		t.report(0, 0)
	}
	tokensPerStep := float64(cfg.BatchSize * cfg.ContextLength)
	var window time.Duration // training time since the last evaluation
	var windowSteps int
	for t.Step < cfg.MaxSteps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("step %d: %w", t.Step, err)
		}
		step := t.Step + 1
		begin := time.Now()
		sampleBatch(t.x, t.y, t.Data.Train, cfg.BatchSize, cfg.ContextLength, t.rng)
		loss := t.Model.Forward(t.acts, t.x, t.y)
		t.Model.ZeroGrad()
		t.Model.Backward(t.acts)
		norm := clipGradNorm(t.Model.Params, cfg.GradClip)
		if !isFinite(loss) || !isFinite(norm) {
			return fmt.Errorf("step %d: train loss %v, grad norm %v: %w", step, loss, norm, ErrNonFinite)
		}
		lr := t.Schedule.LR(step)
		t.Opt.Update(t.Model.Params, lr)
		elapsed := time.Since(begin)
		t.Step, t.TrainLoss = step, loss
		window += elapsed
		windowSteps++

		metrics := map[string]float64{
			"train_loss":     loss,
			"learning_rate":  lr,
			"grad_norm":      norm,
			"tokens_per_sec": tokensPerStep / elapsed.Seconds(),
		}
		eval := step%cfg.EvalInterval == 0 || step == cfg.MaxSteps
		if eval {
			if err := t.validate(step, metrics); err != nil {
				return err
			}
		}
		if err := t.record(int64(step), metrics); err != nil {
			return err
		}
		if eval {
			if err := t.recordRich(step); err != nil {
				return err
			}
			t.report(step, tokensPerStep*float64(windowSteps)/window.Seconds())
			window, windowSteps = 0, 0
			if err := t.saveCheckpoint(step); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate computes the validation loss and adds val_loss and
// val_perplexity to metrics.
func (t *Trainer) validate(step int, metrics map[string]float64) error {
	val := t.Evaluate()
	if !isFinite(val) {
		return fmt.Errorf("step %d: validation loss %v: %w", step, val, ErrNonFinite)
	}
	t.ValLoss = val
	t.BestValLoss = min(t.BestValLoss, val)
	metrics["val_loss"] = val
	metrics["val_perplexity"] = math.Exp(val)
	return nil
}

// report prints a progress line for an evaluation at step; tps is the
// training throughput since the previous one.
func (t *Trainer) report(step int, tps float64) {
	if t.Out == nil {
		return
	}
	train, speed := "    -", "     - tok/s"
	if step > 0 {
		train, speed = fmt.Sprintf("%.3f", t.TrainLoss), fmt.Sprintf("%6.0f tok/s", tps)
	}
	fmt.Fprintf(t.Out, "step %5d/%d  train %s  val %.3f  ppl %6.2f  lr %.2e  %s\n",
		step, t.Config.MaxSteps, train, t.ValLoss, math.Exp(t.ValLoss), t.Schedule.LR(max(step, 1)), speed)
}

// saveCheckpoint writes the checkpoint of step into CheckpointDir, if set,
// and registers it with the Recorder.
func (t *Trainer) saveCheckpoint(step int) error {
	if t.CheckpointDir == "" {
		return nil
	}
	path := filepath.Join(t.CheckpointDir, checkpointName(step))
	if err := t.Checkpoint().WriteFile(path); err != nil {
		return err
	}
	if t.Recorder != nil {
		if err := t.Recorder.Checkpoint(path, int64(step), t.ValLoss); err != nil {
			return fmt.Errorf("record checkpoint: %w", err)
		}
	}
	return nil
}

func (t *Trainer) record(step int64, values map[string]float64) error {
	if t.Recorder == nil {
		return nil
	}
	if err := t.Recorder.LogStep(step, values); err != nil {
		return fmt.Errorf("log step %d: %w", step, err)
	}
	return nil
}

// Prompt and temperature of the samples logged at evaluations.
const (
	samplePrompt      = "Once upon a time"
	sampleTemperature = 0.8
)

// recordRich logs, at the evaluation of step, a sample of
// Config.SampleChars characters (seeded by the run's seed and the step, so
// a rerun logs the same texts) and, after step 0, a histogram per layer
// of its gradient norms at this step (after clipping).
func (t *Trainer) recordRich(step int) error {
	rr, ok := t.Recorder.(RichRecorder)
	if !ok {
		return nil
	}
	if n := t.Config.SampleChars; n > 0 {
		sample, err := t.Sample(samplePrompt, n, sampleTemperature, t.Config.Seed+uint64(step))
		if err != nil {
			return err
		}
		if err := rr.LogText(int64(step), "sample", sample); err != nil {
			return fmt.Errorf("log sample at step %d: %w", step, err)
		}
	}
	if step == 0 {
		return nil
	}
	layers, norms := gradNormsByLayer(t.Model.Params)
	for i, layer := range layers {
		if err := rr.LogHistogram(int64(step), "grad_norm/"+layer, norms[i], 32); err != nil {
			return fmt.Errorf("log gradient norms of %s at step %d: %w", layer, step, err)
		}
	}
	return nil
}

// gradNormsByLayer returns the layers of params in order (the part of a
// parameter's name before its first dot: wte, block0, …, head) and, for
// each, the norms of its gradient's rows: one per output unit of a matrix
// (the L2 norm over its last dimension), the absolute value of each
// element of a vector.
func gradNormsByLayer(params []*Param) (layers []string, norms [][]float64) {
	index := map[string]int{}
	for _, p := range params {
		layer, _, _ := strings.Cut(p.Name, ".")
		i, ok := index[layer]
		if !ok {
			i = len(layers)
			index[layer] = i
			layers, norms = append(layers, layer), append(norms, nil)
		}
		width := 1
		if len(p.Shape) > 1 {
			width = p.Shape[len(p.Shape)-1]
		}
		for r := 0; r+width <= len(p.Grad); r += width {
			var sum float64
			for _, g := range p.Grad[r : r+width] {
				sum += g * g
			}
			norms[i] = append(norms[i], math.Sqrt(sum))
		}
	}
	return layers, norms
}

// Evaluate returns the mean loss over the fixed validation batches.
func (t *Trainer) Evaluate() float64 {
	cfg := t.Config
	b, c := cfg.BatchSize, cfg.ContextLength
	var sum float64
	for i := 0; i < len(t.evalStart); i += b {
		for j, off := range t.evalStart[i : i+b] {
			copy(t.x[j*c:(j+1)*c], t.Data.Val[off:off+c])
			copy(t.y[j*c:(j+1)*c], t.Data.Val[off+1:off+c+1])
		}
		sum += t.Model.Forward(t.acts, t.x, t.y)
	}
	return sum / float64(cfg.EvalBatches)
}

// Checkpoint captures the training state.
func (t *Trainer) Checkpoint() *Checkpoint {
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("marshal rng: %v", err)) // PCG marshaling cannot fail
	}
	c := &Checkpoint{Config: t.Config, Step: t.Step, RNG: rng, OptStep: t.Opt.Step}
	for k, p := range t.Model.Params {
		c.Params = append(c.Params, ParamState{
			Name: p.Name,
			Data: toFloat32(p.Data),
			M:    toFloat32(t.Opt.M[k]),
			V:    toFloat32(t.Opt.V[k]),
		})
	}
	return c
}

// Restore loads a checkpoint's parameters, optimizer moments, step and
// sampler state. The checkpoint must come from a model of the same shape.
func (t *Trainer) Restore(c *Checkpoint) error {
	if len(c.Params) != len(t.Model.Params) {
		return fmt.Errorf("restore: checkpoint has %d tensors, model has %d", len(c.Params), len(t.Model.Params))
	}
	for k, p := range t.Model.Params {
		s := c.Params[k]
		if s.Name != p.Name || len(s.Data) != len(p.Data) {
			return fmt.Errorf("restore: checkpoint tensor %s[%d] does not match model tensor %s[%d]", s.Name, len(s.Data), p.Name, len(p.Data))
		}
	}
	if err := t.pcg.UnmarshalBinary(c.RNG); err != nil {
		return fmt.Errorf("restore: rng: %w", err)
	}
	for k, p := range t.Model.Params {
		s := c.Params[k]
		fromFloat32(p.Data, s.Data)
		fromFloat32(t.Opt.M[k], s.M)
		fromFloat32(t.Opt.V[k], s.V)
	}
	t.Step, t.Opt.Step = c.Step, c.OptStep
	return nil
}

// Sample generates n characters after prompt, drawing each from the model's
// distribution sharpened by temperature, with a seeded generator.
func (t *Trainer) Sample(prompt string, n int, temperature float64, seed uint64) (string, error) {
	if prompt == "" {
		return "", errors.New("sample: empty prompt")
	}
	ids, err := t.Data.Vocab.Encode(prompt)
	if err != nil {
		return "", fmt.Errorf("sample: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	ctx := t.Config.ContextLength
	vocab := t.Data.Vocab.Size()
	acts := map[int]*Activations{} // by window length
	weights := make([]float64, vocab)
	for range n {
		window := ids[max(0, len(ids)-ctx):]
		a := acts[len(window)]
		if a == nil {
			a = t.Model.NewActivations(1, len(window))
			acts[len(window)] = a
		}
		t.Model.Forward(a, window, nil)
		var sum float64
		for i, p := range a.Probs(len(window)-1, vocab) {
			weights[i] = math.Pow(p, 1/temperature)
			sum += weights[i]
		}
		u, next := rng.Float64()*sum, vocab-1
		for i, w := range weights {
			if u < w {
				next = i
				break
			}
			u -= w
		}
		ids = append(ids, next)
	}
	return strings.TrimSpace(t.Data.Vocab.Decode(ids)), nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func toFloat32(s []float64) []float32 {
	f := make([]float32, len(s))
	for i, v := range s {
		f[i] = float32(v)
	}
	return f
}

func fromFloat32(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}
