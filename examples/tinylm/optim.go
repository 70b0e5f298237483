package main

import "math"

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, 2019).
type AdamW struct {
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64 // applied to parameters with Decay set

	// Step is the number of updates taken so far; it drives the bias
	// correction of the moment estimates.
	Step int64
	M, V [][]float64 // first and second moments, one slice per parameter
}

// NewAdamW returns an optimizer for params with zeroed moments.
func NewAdamW(params []*Param, beta1, beta2, eps, weightDecay float64) *AdamW {
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay}
	for _, p := range params {
		o.M = append(o.M, make([]float64, len(p.Data)))
		o.V = append(o.V, make([]float64, len(p.Data)))
	}
	return o
}

// Update applies one AdamW step with learning rate lr to params, which must
// be the slice the optimizer was created for:
//
//	m ← β1·m + (1-β1)·g        v ← β2·v + (1-β2)·g²
//	θ ← θ - lr·λ·θ - lr·m̂/(√v̂ + ε)
//
// where m̂ and v̂ are the bias-corrected moments.
func (o *AdamW) Update(params []*Param, lr float64) {
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	for k, p := range params {
		m, v := o.M[k], o.V[k]
		decay := 0.0
		if p.Decay {
			decay = lr * o.WeightDecay
		}
		for i, g := range p.Grad {
			m[i] = o.Beta1*m[i] + (1-o.Beta1)*g
			v[i] = o.Beta2*v[i] + (1-o.Beta2)*g*g
			p.Data[i] -= decay*p.Data[i] + lr*(m[i]/bc1)/(math.Sqrt(v[i]/bc2)+o.Eps)
		}
	}
}

// Schedule is linear warmup to MaxLR over WarmupSteps, then cosine decay to
// MinLR at TotalSteps, and MinLR after.
type Schedule struct {
	MaxLR, MinLR float64
	WarmupSteps  int
	TotalSteps   int
}

// LR returns the learning rate of update number step, counted from 1.
func (s Schedule) LR(step int) float64 {
	switch {
	case step < s.WarmupSteps:
		return s.MaxLR * float64(step) / float64(s.WarmupSteps)
	case step >= s.TotalSteps:
		return s.MinLR
	}
	progress := float64(step-s.WarmupSteps) / float64(s.TotalSteps-s.WarmupSteps)
	return s.MinLR + 0.5*(1+math.Cos(math.Pi*progress))*(s.MaxLR-s.MinLR)
}

// clipGradNorm scales all gradients down so that their global L2 norm is at
// most maxNorm (when maxNorm > 0) and returns the norm before clipping.
func clipGradNorm(params []*Param, maxNorm float64) float64 {
	var sum float64
	for _, p := range params {
		for _, g := range p.Grad {
			sum += g * g
		}
	}
	norm := math.Sqrt(sum)
	if maxNorm > 0 && norm > maxNorm {
		scale := maxNorm / (norm + 1e-6)
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] *= scale
			}
		}
	}
	return norm
}
