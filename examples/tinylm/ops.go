package main

import (
	"math"
	"runtime"
	"sync"
)

// This file holds the numeric kernels the model is built from. Matrices are
// row-major []float64 slices; a weight of shape [in, out] maps a row vector
// of length in to one of length out. The kernels process four rows at a time
// so that each weight row loaded from memory is used four times, and they
// split rows across goroutines with parallelFor.

// minRowsPerTask is the smallest number of rows worth a goroutine.
const minRowsPerTask = 16

// parallelFor calls fn on contiguous chunks covering [0, n), running the
// chunks on up to GOMAXPROCS goroutines. Ranges shorter than two chunks of
// minChunk run inline on the calling goroutine.
func parallelFor(n, minChunk int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(minChunk, 1))
	if workers <= 1 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// matmul sets out[n, o] = x[n, in] · w[in, o] + b[o]. b may be nil.
func matmul(out, x, w, b []float64, n, in, o int) {
	parallelFor(n, minRowsPerTask, func(lo, hi int) {
		r := lo
		for ; r+4 <= hi; r += 4 {
			y0, y1, y2, y3 := out[r*o:(r+1)*o], out[(r+1)*o:(r+2)*o], out[(r+2)*o:(r+3)*o], out[(r+3)*o:(r+4)*o]
			x0, x1, x2, x3 := x[r*in:(r+1)*in], x[(r+1)*in:(r+2)*in], x[(r+2)*in:(r+3)*in], x[(r+3)*in:(r+4)*in]
			initRows(b, y0, y1, y2, y3)
			for i := range in {
				wi := w[i*o : (i+1)*o]
				a0, a1, a2, a3 := x0[i], x1[i], x2[i], x3[i]
				y0, y1, y2, y3 := y0[:len(wi)], y1[:len(wi)], y2[:len(wi)], y3[:len(wi)]
				for j, wv := range wi {
					y0[j] += a0 * wv
					y1[j] += a1 * wv
					y2[j] += a2 * wv
					y3[j] += a3 * wv
				}
			}
		}
		for ; r < hi; r++ {
			y := out[r*o : (r+1)*o]
			initRows(b, y)
			for i, a := range x[r*in : (r+1)*in] {
				axpy(y, w[i*o:(i+1)*o], a)
			}
		}
	})
}

// initRows sets every row to the bias b, or to zero when b is nil.
func initRows(b []float64, rows ...[]float64) {
	for _, y := range rows {
		if b == nil {
			clear(y)
		} else {
			copy(y, b)
		}
	}
}

// matmulBackInput sets dx[n, in] = dy[n, o] · wᵀ, the gradient of matmul
// with respect to its input.
func matmulBackInput(dx, dy, w []float64, n, in, o int) {
	parallelFor(n, minRowsPerTask, func(lo, hi int) {
		r := lo
		for ; r+4 <= hi; r += 4 {
			d0, d1, d2, d3 := dy[r*o:(r+1)*o], dy[(r+1)*o:(r+2)*o], dy[(r+2)*o:(r+3)*o], dy[(r+3)*o:(r+4)*o]
			for i := range in {
				wi := w[i*o : (i+1)*o]
				d0, d1, d2, d3 := d0[:len(wi)], d1[:len(wi)], d2[:len(wi)], d3[:len(wi)]
				var s0, s1, s2, s3 float64
				for j, wv := range wi {
					s0 += d0[j] * wv
					s1 += d1[j] * wv
					s2 += d2[j] * wv
					s3 += d3[j] * wv
				}
				dx[r*in+i] = s0
				dx[(r+1)*in+i] = s1
				dx[(r+2)*in+i] = s2
				dx[(r+3)*in+i] = s3
			}
		}
		for ; r < hi; r++ {
			d := dy[r*o : (r+1)*o]
			for i := range in {
				dx[r*in+i] = dot(d, w[i*o:(i+1)*o])
			}
		}
	})
}

// matmulBackWeight accumulates dw[in, o] += xᵀ · dy and, when db is not nil,
// db[o] += Σ_rows dy: the gradients of matmul with respect to its weight and
// bias. Work is split over rows of dw, so no two goroutines write the same
// memory.
func matmulBackWeight(dw, db, x, dy []float64, n, in, o int) {
	parallelFor(in, 4, func(lo, hi int) {
		r := 0
		for ; r+4 <= n; r += 4 {
			d0, d1, d2, d3 := dy[r*o:(r+1)*o], dy[(r+1)*o:(r+2)*o], dy[(r+2)*o:(r+3)*o], dy[(r+3)*o:(r+4)*o]
			for i := lo; i < hi; i++ {
				a0, a1, a2, a3 := x[r*in+i], x[(r+1)*in+i], x[(r+2)*in+i], x[(r+3)*in+i]
				wi := dw[i*o : (i+1)*o]
				d0, d1, d2, d3 := d0[:len(wi)], d1[:len(wi)], d2[:len(wi)], d3[:len(wi)]
				for j := range wi {
					wi[j] += a0*d0[j] + a1*d1[j] + a2*d2[j] + a3*d3[j]
				}
			}
		}
		for ; r < n; r++ {
			d := dy[r*o : (r+1)*o]
			for i := lo; i < hi; i++ {
				axpy(dw[i*o:(i+1)*o], d, x[r*in+i])
			}
		}
	})
	if db != nil {
		for r := range n {
			axpy(db, dy[r*o:(r+1)*o], 1)
		}
	}
}

// axpy sets y += a·x.
func axpy(y, x []float64, a float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// dot returns Σ a[i]·b[i].
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// layerNorm normalizes each of the n rows of x (width d) to zero mean and
// unit variance, then scales by g and shifts by b. It records each row's
// mean and reciprocal standard deviation for the backward pass.
func layerNorm(out, mean, rstd, x, g, b []float64, n, d int) {
	const eps = 1e-5
	parallelFor(n, 4*minRowsPerTask, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*d : (r+1)*d]
			var m float64
			for _, v := range xr {
				m += v
			}
			m /= float64(d)
			var variance float64
			for _, v := range xr {
				variance += (v - m) * (v - m)
			}
			s := 1 / math.Sqrt(variance/float64(d)+eps)
			mean[r], rstd[r] = m, s
			y := out[r*d : (r+1)*d]
			for i, v := range xr {
				y[i] = (v-m)*s*g[i] + b[i]
			}
		}
	})
}

// layerNormBackward accumulates the input gradient of layerNorm into dx and
// the gain and shift gradients into dg and db, given the output gradient dy.
func layerNormBackward(dx, dg, db, dy, x, mean, rstd, g []float64, n, d int) {
	for r := range n {
		xr, dyr, dxr := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
		m, s := mean[r], rstd[r]
		// With xhat = (x-m)·s and dxhat = dy·g:
		// dx = s · (dxhat - mean(dxhat) - xhat·mean(dxhat·xhat)).
		var sumD, sumDX float64
		for i, v := range xr {
			xhat := (v - m) * s
			dxhat := dyr[i] * g[i]
			sumD += dxhat
			sumDX += dxhat * xhat
			dg[i] += dyr[i] * xhat
			db[i] += dyr[i]
		}
		sumD /= float64(d)
		sumDX /= float64(d)
		for i, v := range xr {
			xhat := (v - m) * s
			dxr[i] += s * (dyr[i]*g[i] - sumD - xhat*sumDX)
		}
	}
}

// geluC is sqrt(2/π), used by the tanh approximation of GELU.
var geluC = math.Sqrt(2 / math.Pi)

// gelu sets out = GELU(x) elementwise, using the tanh approximation.
func gelu(out, x []float64) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			out[i] = 0.5 * v * (1 + math.Tanh(geluC*(v+0.044715*v*v*v)))
		}
	})
}

// geluBackward sets dx = dy · GELU'(x) elementwise.
func geluBackward(dx, dy, x []float64) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			t := math.Tanh(geluC * (v + 0.044715*v*v*v))
			grad := 0.5*(1+t) + 0.5*v*(1-t*t)*geluC*(1+3*0.044715*v*v)
			dx[i] = dy[i] * grad
		}
	})
}
