package main

import "math"

// attentionShape describes the tensors of causal multi-head self-attention:
// b sequences of t positions, h heads, model width d (so each head has width
// d/h). qkv rows hold the query, key and value of one position side by side:
// [q (d) | k (d) | v (d)], and head j owns columns j·d/h … (j+1)·d/h of each.
type attentionShape struct{ b, t, h, d int }

// attention computes causal softmax(q·kᵀ/√hd)·v for every sequence and head.
// qkv is [b·t, 3d]; out is [b·t, d] with the heads side by side; probs is
// [b, h, t, t] and receives the attention weights for the backward pass.
func attention(out, probs, qkv []float64, s attentionShape) {
	hd := s.d / s.h
	scale := 1 / math.Sqrt(float64(hd))
	stride := 3 * s.d
	parallelFor(s.b*s.h, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/s.h, bh%s.h
			base := b * s.t
			for t := range s.t {
				q := qkv[(base+t)*stride+h*hd:][:hd]
				p := probs[(bh*s.t+t)*s.t:][:s.t]
				maxv := math.Inf(-1)
				for u := 0; u <= t; u++ {
					k := qkv[(base+u)*stride+s.d+h*hd:][:hd]
					p[u] = dot(q, k) * scale
					maxv = max(maxv, p[u])
				}
				var sum float64
				for u := 0; u <= t; u++ {
					p[u] = math.Exp(p[u] - maxv)
					sum += p[u]
				}
				o := out[(base+t)*s.d+h*hd:][:hd]
				clear(o)
				for u := 0; u <= t; u++ {
					p[u] /= sum
					axpy(o, qkv[(base+u)*stride+2*s.d+h*hd:][:hd], p[u])
				}
				clear(p[t+1:])
			}
		}
	})
}

// attentionBackward sets dqkv ([b·t, 3d]) to the gradient of attention with
// respect to qkv, given the output gradient dout ([b·t, d]) and the weights
// recorded by attention. Each (sequence, head) pair writes its own columns
// and rows of dqkv, so pairs run in parallel without sharing memory.
func attentionBackward(dqkv, dout, probs, qkv []float64, s attentionShape) {
	hd := s.d / s.h
	scale := 1 / math.Sqrt(float64(hd))
	stride := 3 * s.d
	clear(dqkv)
	parallelFor(s.b*s.h, 1, func(lo, hi int) {
		dp := make([]float64, s.t)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/s.h, bh%s.h
			base := b * s.t
			for t := range s.t {
				do := dout[(base+t)*s.d+h*hd:][:hd]
				p := probs[(bh*s.t+t)*s.t:][:s.t]
				// dp[u] = do·v_u and dv_u += p[u]·do.
				var pdp float64
				for u := 0; u <= t; u++ {
					v := qkv[(base+u)*stride+2*s.d+h*hd:][:hd]
					dp[u] = dot(do, v)
					pdp += p[u] * dp[u]
					axpy(dqkv[(base+u)*stride+2*s.d+h*hd:][:hd], do, p[u])
				}
				// Softmax backward: ds[u] = p[u]·(dp[u] - Σ p·dp), then
				// through the scaled dot products to q_t and k_u.
				q := qkv[(base+t)*stride+h*hd:][:hd]
				dq := dqkv[(base+t)*stride+h*hd:][:hd]
				for u := 0; u <= t; u++ {
					ds := p[u] * (dp[u] - pdp) * scale
					axpy(dq, qkv[(base+u)*stride+s.d+h*hd:][:hd], ds)
					axpy(dqkv[(base+u)*stride+s.d+h*hd:][:hd], q, ds)
				}
			}
		}
	})
}
