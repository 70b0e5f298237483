package main

import (
	"math"
	"testing"
)

func TestScheduleLR(t *testing.T) {
	s := Schedule{MaxLR: 1e-3, MinLR: 1e-4, WarmupSteps: 10, TotalSteps: 110}
	tests := []struct {
		step int
		want float64
	}{
		{0, 0},
		{1, 1e-4},
		{5, 5e-4},
		{10, 1e-3},              // warmup ends at the peak
		{60, (1e-3 + 1e-4) / 2}, // halfway through the cosine
		{110, 1e-4},             // end of decay
		{500, 1e-4},             // after the schedule
	}
	for _, tt := range tests {
		if got := s.LR(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("LR(%d) = %g, want %g", tt.step, got, tt.want)
		}
	}
	// Decay is monotone.
	for step := 10; step < 110; step++ {
		if s.LR(step+1) > s.LR(step) {
			t.Fatalf("LR rises from step %d to %d", step, step+1)
		}
	}
}

func TestScheduleNoWarmup(t *testing.T) {
	s := Schedule{MaxLR: 2, MinLR: 1, WarmupSteps: 0, TotalSteps: 4}
	for step, want := range []float64{2, 2 - 0.5*(1-math.Cos(math.Pi/4)), 1.5, 1 + 0.5*(1+math.Cos(3*math.Pi/4)), 1} {
		if got := s.LR(step); math.Abs(got-want) > 1e-12 {
			t.Errorf("LR(%d) = %g, want %g", step, got, want)
		}
	}
}

func TestAdamW(t *testing.T) {
	tests := []struct {
		name  string
		decay bool
		grad  float64
		want  float64 // parameter after one step from 1.0
	}{
		// Bias correction makes the first step exactly lr·sign(g).
		{"positive gradient", false, 0.3, 1 - 0.01},
		{"negative gradient", false, -5, 1 + 0.01},
		// Decoupled decay shrinks the weight by lr·λ·θ on top of that.
		{"with weight decay", true, 0.3, 1 - 0.01 - 0.01*0.5*1},
		{"decay with zero gradient", true, 0, 1 - 0.01*0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Param{Name: "w", Data: []float64{1}, Grad: []float64{tt.grad}, Decay: tt.decay}
			o := NewAdamW([]*Param{p}, 0.9, 0.999, 1e-12, 0.5)
			o.Update([]*Param{p}, 0.01)
			if math.Abs(p.Data[0]-tt.want) > 1e-9 {
				t.Errorf("after one step θ = %.10f, want %.10f", p.Data[0], tt.want)
			}
		})
	}
}

// TestAdamWMinimizes checks that AdamW drives a quadratic to its minimum.
func TestAdamWMinimizes(t *testing.T) {
	p := &Param{Data: []float64{5, -3}, Grad: make([]float64, 2)}
	o := NewAdamW([]*Param{p}, 0.9, 0.999, 1e-8, 0)
	for range 2000 {
		for i, v := range p.Data {
			p.Grad[i] = 2 * (v - 1) // minimum at 1
		}
		o.Update([]*Param{p}, 0.01)
	}
	for i, v := range p.Data {
		if math.Abs(v-1) > 1e-2 {
			t.Errorf("θ[%d] = %g, want 1", i, v)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	tests := []struct {
		name     string
		max      float64
		wantNorm float64 // after clipping
	}{
		{"clips", 1, 1},
		{"leaves small gradients", 10, 5},
		{"disabled", 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Param{Grad: []float64{3}}
			b := &Param{Grad: []float64{0, 4}}
			if got := clipGradNorm([]*Param{a, b}, tt.max); math.Abs(got-5) > 1e-12 {
				t.Errorf("returned norm %g, want 5 (before clipping)", got)
			}
			got := math.Hypot(a.Grad[0], b.Grad[1])
			if math.Abs(got-tt.wantNorm) > 1e-5 {
				t.Errorf("norm after clipping = %g, want %g", got, tt.wantNorm)
			}
			if ratio := a.Grad[0] / b.Grad[1]; math.Abs(ratio-0.75) > 1e-12 {
				t.Errorf("clipping changed the gradient's direction")
			}
		})
	}
}
