package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ModelConfig is the shape of a Transformer language model.
type ModelConfig struct {
	Vocab   int // number of distinct tokens (characters)
	Context int // maximum sequence length
	DModel  int // width of the residual stream
	NLayers int // number of Transformer blocks
	NHeads  int // attention heads per block; must divide DModel
	DFF     int // hidden width of each block's MLP
}

// Param is one parameter tensor with its gradient.
type Param struct {
	Name  string
	Shape []int
	Data  []float64
	Grad  []float64
	Decay bool // whether AdamW applies weight decay to it
}

// block holds the parameters of one pre-LayerNorm Transformer block:
//
//	x = x + Wo·attention(LN1(x)·Wqkv)
//	x = x + W2·GELU(LN2(x)·W1)
type block struct {
	ln1g, ln1b *Param
	wqkv, bqkv *Param
	wo, bo     *Param
	ln2g, ln2b *Param
	w1, b1     *Param
	w2, b2     *Param
}

// Model is a decoder-only Transformer: token and learned position
// embeddings, NLayers pre-LayerNorm blocks of causal multi-head
// self-attention and a GELU MLP, a final LayerNorm and a linear map to the
// vocabulary, trained with cross-entropy. Forward and Backward are written
// by hand over float64 slices.
type Model struct {
	Config ModelConfig
	Params []*Param // every tensor, in a fixed order

	wte, wpe   *Param
	blocks     []block
	lnfg, lnfb *Param
	head       *Param
}

// NewModel returns a model with weights drawn from N(0, std²), the output
// projections of each residual branch scaled down by 1/√(2·NLayers), biases
// at zero and LayerNorm gains at one.
func NewModel(cfg ModelConfig, std float64, rng *rand.Rand) (*Model, error) {
	if cfg.Vocab <= 0 || cfg.Context <= 0 || cfg.DModel <= 0 || cfg.NLayers <= 0 || cfg.NHeads <= 0 || cfg.DFF <= 0 {
		return nil, fmt.Errorf("new model: all sizes must be positive: %+v", cfg)
	}
	if cfg.DModel%cfg.NHeads != 0 {
		return nil, fmt.Errorf("new model: d_model %d is not a multiple of n_heads %d", cfg.DModel, cfg.NHeads)
	}
	m := &Model{Config: cfg}
	d, f := cfg.DModel, cfg.DFF
	residStd := std / math.Sqrt(2*float64(cfg.NLayers))
	normal := func(name string, s float64, shape ...int) *Param {
		p := m.newParam(name, true, shape...)
		for i := range p.Data {
			p.Data[i] = rng.NormFloat64() * s
		}
		return p
	}
	fill := func(name string, v float64, shape ...int) *Param {
		p := m.newParam(name, false, shape...)
		for i := range p.Data {
			p.Data[i] = v
		}
		return p
	}
	m.wte = normal("wte", std, cfg.Vocab, d)
	m.wpe = normal("wpe", std, cfg.Context, d)
	for l := range cfg.NLayers {
		name := func(s string) string { return fmt.Sprintf("block%d.%s", l, s) }
		m.blocks = append(m.blocks, block{
			ln1g: fill(name("ln1.gain"), 1, d),
			ln1b: fill(name("ln1.shift"), 0, d),
			wqkv: normal(name("attn.wqkv"), std, d, 3*d),
			bqkv: fill(name("attn.bqkv"), 0, 3*d),
			wo:   normal(name("attn.wo"), residStd, d, d),
			bo:   fill(name("attn.bo"), 0, d),
			ln2g: fill(name("ln2.gain"), 1, d),
			ln2b: fill(name("ln2.shift"), 0, d),
			w1:   normal(name("mlp.w1"), std, d, f),
			b1:   fill(name("mlp.b1"), 0, f),
			w2:   normal(name("mlp.w2"), residStd, f, d),
			b2:   fill(name("mlp.b2"), 0, d),
		})
	}
	m.lnfg = fill("lnf.gain", 1, d)
	m.lnfb = fill("lnf.shift", 0, d)
	m.head = normal("head", std, d, cfg.Vocab)
	return m, nil
}

func (m *Model) newParam(name string, decay bool, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	p := &Param{Name: name, Shape: shape, Data: make([]float64, n), Grad: make([]float64, n), Decay: decay}
	m.Params = append(m.Params, p)
	return p
}

// NumParams returns the total number of scalar parameters.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params {
		n += len(p.Data)
	}
	return n
}

// ZeroGrad sets every gradient to zero.
func (m *Model) ZeroGrad() {
	for _, p := range m.Params {
		clear(p.Grad)
	}
}

// blockActs holds what one block's forward pass keeps for its backward pass.
type blockActs struct {
	in                []float64 // residual stream entering the block [n, d]
	ln1, mean1, rstd1 []float64 // LN1 output [n, d] and row statistics [n]
	qkv               []float64 // [n, 3d]
	probs             []float64 // attention weights [b, h, t, t]
	att               []float64 // attention output before Wo [n, d]
	mid               []float64 // residual stream after attention [n, d]
	ln2, mean2, rstd2 []float64
	pre, act          []float64 // MLP hidden layer before and after GELU [n, f]
}

// Activations is the working memory of a forward and backward pass over a
// batch of b sequences of t tokens. Reuse one across steps of equal shape.
type Activations struct {
	b, t    int
	tokens  []int
	targets []int
	blocks  []blockActs
	out     []float64 // residual stream after the last block [n, d]
	lnf     []float64
	meanf   []float64
	rstdf   []float64
	probs   []float64 // softmax of the logits [n, vocab]

	// Gradient scratch space.
	dx, dln, datt, dqkv, dact, dpre, dprobs []float64
}

// NewActivations allocates working memory for batches of b sequences of t
// tokens, with t at most the model's context length.
func (m *Model) NewActivations(b, t int) *Activations {
	c := m.Config
	n, d, f := b*t, c.DModel, c.DFF
	a := &Activations{
		b: b, t: t,
		out: make([]float64, n*d), lnf: make([]float64, n*d),
		meanf: make([]float64, n), rstdf: make([]float64, n),
		probs: make([]float64, n*c.Vocab),
		dx:    make([]float64, n*d), dln: make([]float64, n*d), datt: make([]float64, n*d),
		dqkv: make([]float64, n*3*d), dact: make([]float64, n*f), dpre: make([]float64, n*f),
		dprobs: make([]float64, n*c.Vocab),
	}
	for range c.NLayers {
		a.blocks = append(a.blocks, blockActs{
			in:  make([]float64, n*d),
			ln1: make([]float64, n*d), mean1: make([]float64, n), rstd1: make([]float64, n),
			qkv:   make([]float64, n*3*d),
			probs: make([]float64, b*c.NHeads*t*t),
			att:   make([]float64, n*d),
			mid:   make([]float64, n*d),
			ln2:   make([]float64, n*d), mean2: make([]float64, n), rstd2: make([]float64, n),
			pre: make([]float64, n*f), act: make([]float64, n*f),
		})
	}
	return a
}

// Forward runs the model on tokens, b·t ids laid out sequence after
// sequence. With targets (same layout) it returns the mean cross-entropy of
// predicting each target from the tokens up to and including its position;
// with nil targets it returns 0 and only fills the output distribution,
// which Probs reads.
func (m *Model) Forward(a *Activations, tokens, targets []int) float64 {
	c := m.Config
	n, d, f, v := a.b*a.t, c.DModel, c.DFF, c.Vocab
	if len(tokens) != n || (targets != nil && len(targets) != n) {
		panic(fmt.Sprintf("forward: got %d tokens and %d targets for a %d×%d batch", len(tokens), len(targets), a.b, a.t))
	}
	a.tokens, a.targets = tokens, targets

	x := a.blocks[0].in
	for r, tok := range tokens {
		pos := r % a.t
		row := x[r*d : (r+1)*d]
		copy(row, m.wte.Data[tok*d:(tok+1)*d])
		axpy(row, m.wpe.Data[pos*d:(pos+1)*d], 1)
	}
	shape := attentionShape{b: a.b, t: a.t, h: c.NHeads, d: d}
	for l, bk := range m.blocks {
		ba := &a.blocks[l]
		layerNorm(ba.ln1, ba.mean1, ba.rstd1, ba.in, bk.ln1g.Data, bk.ln1b.Data, n, d)
		matmul(ba.qkv, ba.ln1, bk.wqkv.Data, bk.bqkv.Data, n, d, 3*d)
		attention(ba.att, ba.probs, ba.qkv, shape)
		matmul(ba.mid, ba.att, bk.wo.Data, bk.bo.Data, n, d, d)
		axpy(ba.mid, ba.in, 1)
		layerNorm(ba.ln2, ba.mean2, ba.rstd2, ba.mid, bk.ln2g.Data, bk.ln2b.Data, n, d)
		matmul(ba.pre, ba.ln2, bk.w1.Data, bk.b1.Data, n, d, f)
		gelu(ba.act, ba.pre)
		next := a.out
		if l+1 < len(a.blocks) {
			next = a.blocks[l+1].in
		}
		matmul(next, ba.act, bk.w2.Data, bk.b2.Data, n, f, d)
		axpy(next, ba.mid, 1)
	}
	layerNorm(a.lnf, a.meanf, a.rstdf, a.out, m.lnfg.Data, m.lnfb.Data, n, d)
	matmul(a.probs, a.lnf, m.head.Data, nil, n, d, v)

	// Softmax in place, and the loss when there are targets.
	var loss float64
	for r := range n {
		row := a.probs[r*v : (r+1)*v]
		maxv := math.Inf(-1)
		for _, z := range row {
			maxv = max(maxv, z)
		}
		var sum float64
		for i, z := range row {
			row[i] = math.Exp(z - maxv)
			sum += row[i]
		}
		for i := range row {
			row[i] /= sum
		}
		if targets != nil {
			loss -= math.Log(max(row[targets[r]], math.SmallestNonzeroFloat64))
		}
	}
	return loss / float64(n)
}

// Probs returns the predicted next-token distribution after row r of the
// last forward pass (sequence r/t, position r%t).
func (a *Activations) Probs(r, vocab int) []float64 {
	return a.probs[r*vocab : (r+1)*vocab]
}

// Backward accumulates into every Param.Grad the gradient of the loss
// returned by the last Forward call, which must have had targets.
func (m *Model) Backward(a *Activations) {
	c := m.Config
	n, d, f, v := a.b*a.t, c.DModel, c.DFF, c.Vocab
	if a.targets == nil {
		panic("backward: the last forward pass had no targets")
	}

	// Cross-entropy through softmax: dlogits = (probs - onehot) / n.
	copy(a.dprobs, a.probs)
	for r, tgt := range a.targets {
		a.dprobs[r*v+tgt]--
	}
	for i := range a.dprobs {
		a.dprobs[i] /= float64(n)
	}
	matmulBackWeight(m.head.Grad, nil, a.lnf, a.dprobs, n, d, v)
	matmulBackInput(a.dln, a.dprobs, m.head.Data, n, d, v)
	clear(a.dx)
	layerNormBackward(a.dx, m.lnfg.Grad, m.lnfb.Grad, a.dln, a.out, a.meanf, a.rstdf, m.lnfg.Data, n, d)

	// a.dx now holds the gradient of the residual stream; walk back through
	// the blocks, adding each branch's contribution to it.
	shape := attentionShape{b: a.b, t: a.t, h: c.NHeads, d: d}
	for l := len(m.blocks) - 1; l >= 0; l-- {
		bk, ba := m.blocks[l], &a.blocks[l]
		// MLP branch: next = mid + act·W2 + b2.
		matmulBackWeight(bk.w2.Grad, bk.b2.Grad, ba.act, a.dx, n, f, d)
		matmulBackInput(a.dact, a.dx, bk.w2.Data, n, f, d)
		geluBackward(a.dpre, a.dact, ba.pre)
		matmulBackWeight(bk.w1.Grad, bk.b1.Grad, ba.ln2, a.dpre, n, d, f)
		matmulBackInput(a.dln, a.dpre, bk.w1.Data, n, d, f)
		layerNormBackward(a.dx, bk.ln2g.Grad, bk.ln2b.Grad, a.dln, ba.mid, ba.mean2, ba.rstd2, bk.ln2g.Data, n, d)
		// Attention branch: mid = in + att·Wo + bo.
		matmulBackWeight(bk.wo.Grad, bk.bo.Grad, ba.att, a.dx, n, d, d)
		matmulBackInput(a.datt, a.dx, bk.wo.Data, n, d, d)
		attentionBackward(a.dqkv, a.datt, ba.probs, ba.qkv, shape)
		matmulBackWeight(bk.wqkv.Grad, bk.bqkv.Grad, ba.ln1, a.dqkv, n, d, 3*d)
		matmulBackInput(a.dln, a.dqkv, bk.wqkv.Data, n, d, 3*d)
		layerNormBackward(a.dx, bk.ln1g.Grad, bk.ln1b.Grad, a.dln, ba.in, ba.mean1, ba.rstd1, bk.ln1g.Data, n, d)
	}

	// Embeddings.
	for r, tok := range a.tokens {
		pos := r % a.t
		g := a.dx[r*d : (r+1)*d]
		axpy(m.wte.Grad[tok*d:(tok+1)*d], g, 1)
		axpy(m.wpe.Grad[pos*d:(pos+1)*d], g, 1)
	}
}
