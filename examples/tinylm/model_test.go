package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tinyModel returns a model small enough to gradient-check exhaustively,
// with every parameter (gains and biases included) drawn at random so that
// no gradient is trivially zero, and a batch for it.
func tinyModel(t *testing.T, cfg ModelConfig, b int) (*Model, *Activations, []int, []int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	m, err := NewModel(cfg, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		for i := range p.Data {
			p.Data[i] += 0.3 * rng.NormFloat64()
		}
	}
	n := b * cfg.Context
	x, y := make([]int, n), make([]int, n)
	for i := range x {
		x[i], y[i] = rng.IntN(cfg.Vocab), rng.IntN(cfg.Vocab)
	}
	return m, m.NewActivations(b, cfg.Context), x, y
}

// TestGradients compares Backward with central finite differences for every
// element of every parameter tensor.
func TestGradients(t *testing.T) {
	tests := []struct {
		name string
		cfg  ModelConfig
		b    int
	}{
		{"one layer one head", ModelConfig{Vocab: 5, Context: 3, DModel: 4, NLayers: 1, NHeads: 1, DFF: 6}, 2},
		{"two layers two heads", ModelConfig{Vocab: 7, Context: 5, DModel: 8, NLayers: 2, NHeads: 2, DFF: 12}, 2},
		// Enough rows that the matmul kernels take their four-row paths
		// and split work across goroutines.
		{"parallel kernels", ModelConfig{Vocab: 6, Context: 20, DModel: 8, NLayers: 1, NHeads: 4, DFF: 8}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, a, x, y := tinyModel(t, tt.cfg, tt.b)
			m.ZeroGrad()
			m.Forward(a, x, y)
			m.Backward(a)

			const h = 1e-5
			for _, p := range m.Params {
				worst := 0.0
				for i := range p.Data {
					orig := p.Data[i]
					p.Data[i] = orig + h
					plus := m.Forward(a, x, y)
					p.Data[i] = orig - h
					minus := m.Forward(a, x, y)
					p.Data[i] = orig
					numeric := (plus - minus) / (2 * h)
					analytic := p.Grad[i]
					// Relative error, with an absolute floor for gradients
					// that are zero in exact arithmetic (such as the key
					// bias, to which softmax is invariant).
					rel := math.Abs(numeric-analytic) / max(math.Abs(numeric)+math.Abs(analytic), 1e-4)
					worst = max(worst, rel)
				}
				if worst > 1e-6 {
					t.Errorf("%s %v: worst relative error %.2e", p.Name, p.Shape, worst)
				}
			}
		})
	}
}

// TestGradientsAccumulate checks that Backward adds to, not overwrites, the
// gradients, which ZeroGrad resets.
func TestGradientsAccumulate(t *testing.T) {
	m, a, x, y := tinyModel(t, ModelConfig{Vocab: 5, Context: 4, DModel: 4, NLayers: 1, NHeads: 2, DFF: 4}, 2)
	m.ZeroGrad()
	m.Forward(a, x, y)
	m.Backward(a)
	once := append([]float64(nil), m.head.Grad...)
	m.Backward(a)
	for i, g := range m.head.Grad {
		if math.Abs(g-2*once[i]) > 1e-12 {
			t.Fatalf("head grad %d after two backward passes = %v, want %v", i, g, 2*once[i])
		}
	}
	m.ZeroGrad()
	for _, p := range m.Params {
		for _, g := range p.Grad {
			if g != 0 {
				t.Fatalf("%s: gradient not zeroed", p.Name)
			}
		}
	}
}

// TestCausal checks that a position's prediction does not depend on later
// tokens.
func TestCausal(t *testing.T) {
	cfg := ModelConfig{Vocab: 6, Context: 8, DModel: 8, NLayers: 2, NHeads: 2, DFF: 8}
	m, a, x, _ := tinyModel(t, cfg, 1)
	m.Forward(a, x, nil)
	before := append([]float64(nil), a.Probs(3, cfg.Vocab)...)
	for i := 4; i < len(x); i++ {
		x[i] = (x[i] + 1) % cfg.Vocab
	}
	m.Forward(a, x, nil)
	for i, p := range a.Probs(3, cfg.Vocab) {
		if math.Abs(p-before[i]) > 1e-12 {
			t.Fatalf("position 3 changed when later tokens changed: %v -> %v", before, a.Probs(3, cfg.Vocab))
		}
	}
}

// TestInitialLoss checks that a freshly initialized model predicts close to
// uniformly, with loss near ln(vocab).
func TestInitialLoss(t *testing.T) {
	cfg := ModelConfig{Vocab: 40, Context: 16, DModel: 16, NLayers: 2, NHeads: 2, DFF: 32}
	m, err := NewModel(cfg, 0.02, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	x, y := make([]int, 2*cfg.Context), make([]int, 2*cfg.Context)
	for i := range x {
		x[i], y[i] = rng.IntN(cfg.Vocab), rng.IntN(cfg.Vocab)
	}
	loss := m.Forward(m.NewActivations(2, cfg.Context), x, y)
	if want := math.Log(float64(cfg.Vocab)); math.Abs(loss-want) > 0.05 {
		t.Errorf("initial loss = %.4f, want about ln(%d) = %.4f", loss, cfg.Vocab, want)
	}
}

func TestNewModelRejectsBadShapes(t *testing.T) {
	tests := []struct {
		name string
		cfg  ModelConfig
	}{
		{"heads do not divide width", ModelConfig{Vocab: 5, Context: 4, DModel: 6, NLayers: 1, NHeads: 4, DFF: 4}},
		{"zero layers", ModelConfig{Vocab: 5, Context: 4, DModel: 4, NLayers: 0, NHeads: 1, DFF: 4}},
		{"empty vocabulary", ModelConfig{Vocab: 0, Context: 4, DModel: 4, NLayers: 1, NHeads: 1, DFF: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewModel(tt.cfg, 0.02, rand.New(rand.NewPCG(1, 1))); err == nil {
				t.Error("NewModel succeeded, want error")
			}
		})
	}
}

func BenchmarkTrainStep(b *testing.B) {
	cfg := DefaultConfig()
	m, err := NewModel(cfg.ModelConfig(49), cfg.InitStd, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	a := m.NewActivations(cfg.BatchSize, cfg.ContextLength)
	rng := rand.New(rand.NewPCG(2, 2))
	x, y := make([]int, cfg.BatchSize*cfg.ContextLength), make([]int, cfg.BatchSize*cfg.ContextLength)
	for i := range x {
		x[i], y[i] = rng.IntN(49), rng.IntN(49)
	}
	for b.Loop() {
		m.ZeroGrad()
		m.Forward(a, x, y)
		m.Backward(a)
	}
	b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
