package series

import (
	"fmt"
	"math"
	"math/bits"
)

// The delta codecs code the k-th order difference of the values' bit
// patterns, read as int64s, for k from 1 to maxDeltaOrder. Within a binade
// the bit pattern of a float grows linearly with its value, so a curve whose
// k-th derivative is small, such as a learning-rate schedule, a running
// average or a counter, leaves small residuals where XOR leaves most of the
// mantissa. The arithmetic wraps, so every bit pattern round-trips exactly:
// NaN payloads, infinities, -0 and subnormals included.
//
// The residuals first lose the low zero bits that all of them share: float32
// values widened to float64 end in 29 of them, and integer counters in more.
// Each is then coded in one of three forms, with widths that the encoder
// chooses per chunk:
//
//	'0'  then w1 bits               two's complement, for most residuals
//	'10' then w2 bits               two's complement, for wider ones
//	'11' then 6 bits m and m bits   any other, as its zigzag code less the top 1
//
// docs/chunk-format.md has the details.

// deltaParamBytes is the size of the parameters a delta chunk carries.
const deltaParamBytes = 3

// histLen is the length of a histogram of residual bit lengths, 0 to 64.
const histLen = 65

// zigzag maps small signed residuals to small unsigned ones, so that the bit
// length of zigzag(r) is the fewest two's complement bits that hold r.
func zigzag(r int64) uint64 { return uint64(r<<1) ^ uint64(r>>63) }

// deltaCodecs returns the best codec of each delta order for values and the
// number of bits of its residual codes, without the parameter bytes.
//
// One pass gathers, for each order, a histogram of the bit lengths of the
// zigzagged residuals and the OR of the residuals. Dropping the s low bits
// that every residual shares shortens each non-zero one by exactly s bits,
// so the histogram gives the exact cost of any pair of widths.
func deltaCodecs(values []float64) (cs [maxDeltaOrder]codec, costs [maxDeltaOrder]int) {
	var hist [maxDeltaOrder][histLen]int
	var or [maxDeltaOrder]uint64
	if len(values) > 1 {
		prev := int64(math.Float64bits(values[0]))
		var d1, d2, d3 int64
		for _, v := range values[1:] {
			x := int64(math.Float64bits(v))
			r1 := x - prev
			r2 := r1 - d1
			r3 := r2 - d2
			r4 := r3 - d3
			prev, d1, d2, d3 = x, r1, r2, r3
			or[0] |= uint64(r1)
			or[1] |= uint64(r2)
			or[2] |= uint64(r3)
			or[3] |= uint64(r4)
			hist[0][bits.Len64(zigzag(r1))]++
			hist[1][bits.Len64(zigzag(r2))]++
			hist[2][bits.Len64(zigzag(r3))]++
			hist[3][bits.Len64(zigzag(r4))]++
		}
	}
	for k := range cs {
		shift := bits.TrailingZeros64(or[k]) & 63 // 64, all zero, drops none
		var h [histLen]int
		h[0] = hist[k][0]
		for l := shift + 1; l < histLen; l++ {
			h[l-shift] = hist[k][l]
		}
		w1, w2, cost := chooseWidths(&h)
		cs[k] = codec{id: uint8(k + 1), shift: uint8(shift), w1: w1, w2: w2}
		costs[k] = cost
	}
	return cs, costs
}

// chooseWidths returns the widths w1 ≤ w2 that code residuals whose zigzag
// bit lengths have histogram h in the fewest bits, and that number of bits.
// A residual of length l costs 1+w1 bits if l ≤ w1, else 2+w2 if l ≤ w2,
// else 8+(l-1). Only widths of 0 and lengths that occur can be best, since
// narrowing a width to the next such length drops bits and moves no
// residual to a dearer form; w2 == w1 leaves '10' unused.
func chooseWidths(h *[histLen]int) (w1, w2 uint8, cost int) {
	// below[l] counts the residuals of length ≤ l; above[l] is what those
	// longer than l cost as '11' codes.
	var below, above [histLen]int
	var cands [histLen]int
	nc := 0
	sum := 0
	for l, c := range h {
		sum += c
		below[l] = sum
		if c != 0 || l == 0 {
			cands[nc] = l
			nc++
		}
	}
	for l := histLen - 2; l >= 0; l-- {
		above[l] = above[l+1] + h[l+1]*(8+l)
	}
	cost = math.MaxInt
	for i, a := range cands[:nc] {
		short := below[a] * (1 + a)
		for _, b := range cands[i:nc] {
			if c := short + (below[b]-below[a])*(2+b) + above[b]; c < cost {
				w1, w2, cost = uint8(a), uint8(b), c
			}
		}
	}
	return w1, w2, cost
}

// appendDelta writes the residual codes of values 1 and up.
func appendDelta(w bitWriter, values []float64, c codec) bitWriter {
	shift, w1, w2 := uint(c.shift), uint(c.w1), uint(c.w2)
	prev := int64(math.Float64bits(values[0]))
	var d1, d2, d3 int64
	for _, v := range values[1:] {
		x := int64(math.Float64bits(v))
		r := x - prev
		r2 := r - d1
		r3 := r2 - d2
		prev, d1, d2, d3, r = x, r, r2, r3, deltaOf(c.id, r, r2, r3, r3-d3)
		r >>= shift // exact: every residual has shift low zero bits
		switch l := uint(bits.Len64(zigzag(r))); {
		case l <= w1 && w1 < 64:
			w.writeBits(uint64(r)&(1<<w1-1), 1+w1)
		case l <= w1:
			w.writeBits(0, 1)
			w.writeBits(uint64(r), 64)
		case l <= w2 && w2 < 63:
			w.writeBits(0b10<<w2|uint64(r)&(1<<w2-1), 2+w2)
		case l <= w2:
			w.writeBits(0b10, 2)
			w.writeBits(uint64(r)&(1<<w2-1), w2)
		default:
			// '11', then the bits of zigzag(r) below its leading 1.
			m := l - 1
			w.writeBits(0b11<<6|uint64(m), 8)
			if m > 0 {
				w.writeBits(zigzag(r)&(1<<m-1), m)
			}
		}
	}
	return w
}

// deltaOf returns the residual of the given order.
func deltaOf(order uint8, r1, r2, r3, r4 int64) int64 {
	switch order {
	case 1:
		return r1
	case 2:
		return r2
	case 3:
		return r3
	}
	return r4
}

// decodeDeltaParams reads the parameters of a delta codec from the start of
// data and returns the codec with them and the rest of data.
func decodeDeltaParams(c codec, data []byte) (codec, []byte, error) {
	if len(data) < deltaParamBytes {
		return c, nil, fmt.Errorf("%w: truncated delta parameters", ErrCorruptChunk)
	}
	c.shift, c.w1, c.w2 = data[0], data[1], data[2]
	if c.shift > 63 || c.w1 > 64 || c.w2 > 64 {
		return c, nil, fmt.Errorf("%w: bad delta parameters: shift %d, widths %d and %d", ErrCorruptChunk, c.shift, c.w1, c.w2)
	}
	return c, data[deltaParamBytes:], nil
}

// widthMask returns the mask for a residual read with width w: a width of 0
// holds no bits, but the shift that reads a field, taken mod 64, is then 0
// and returns the bits that follow, which the mask clears.
func widthMask(w uint) int64 {
	if w == 0 {
		return 0
	}
	return -1
}

// decodeDelta decodes the residual codes of values 1 and up, continuing from
// the reader state (pos, acc, n); values[0] is filled in. Any bits decode to
// some residual, so only checkEnd can find this part of a chunk corrupt.
func decodeDelta(stream []byte, pos int, acc uint64, n uint, values []float64, c codec) (int, uint64, uint) {
	// Reading the residuals and summing them are two loops: the reader's
	// state fills the registers, and a loop that only sums keeps every
	// order's running sums in registers too.
	pos, acc, n = readResiduals(stream, pos, acc, n, values[1:], c)
	x := int64(math.Float64bits(values[0]))
	var d1, d2, d3 int64
	shift := uint(c.shift) & 63
	vs := values[1:]
	switch c.id {
	case 1:
		for i, v := range vs {
			x += int64(math.Float64bits(v)) << shift
			vs[i] = math.Float64frombits(uint64(x))
		}
	case 2:
		for i, v := range vs {
			d1 += int64(math.Float64bits(v)) << shift
			x += d1
			vs[i] = math.Float64frombits(uint64(x))
		}
	case 3:
		for i, v := range vs {
			d2 += int64(math.Float64bits(v)) << shift
			d1 += d2
			x += d1
			vs[i] = math.Float64frombits(uint64(x))
		}
	default:
		for i, v := range vs {
			d3 += int64(math.Float64bits(v)) << shift
			d2 += d3
			d1 += d2
			x += d1
			vs[i] = math.Float64frombits(uint64(x))
		}
	}
	return pos, acc, n
}

// readResiduals reads one residual code for each element of dst and stores
// the residual's bits there.
func readResiduals(stream []byte, pos int, acc uint64, n uint, dst []float64, c codec) (int, uint64, uint) {
	w1, w2 := uint(c.w1), uint(c.w2)
	// The loop reads the '0' and '10' forms itself when one refill holds
	// them, which it does for all but the widest, and refills only when the
	// next code might not fit in what is left.
	fast1, fast2 := w1 <= 56-1, w2 <= 56-2
	need := min(max(1+w1, 2+w2, 8), 56)
	s1, s2 := (64-w1)&63, (64-w2)&63
	m1, m2 := widthMask(w1), widthMask(w2)
	for i := range dst {
		if n < need {
			pos, acc, n = refill(stream, pos, acc, n)
		}
		var r int64
		if acc>>63 == 0 && fast1 {
			r = int64(acc<<1) >> s1 & m1
			acc, n = acc<<((1+w1)&63), n-(1+w1)
		} else if acc>>62 == 0b10 && fast2 {
			r = int64(acc<<2) >> s2 & m2
			acc, n = acc<<((2+w2)&63), n-(2+w2)
		} else {
			r, pos, acc, n = readResidual(stream, pos, acc, n, w1, w2)
		}
		dst[i] = math.Float64frombits(uint64(r))
	}
	return pos, acc, n
}

// readResidual reads a residual code of any form; acc must hold at least 8
// valid bits.
func readResidual(data []byte, pos int, acc uint64, n, w1, w2 uint) (r int64, _ int, _ uint64, _ uint) {
	var w uint
	switch {
	case acc>>63 == 0:
		acc, n, w = acc<<1, n-1, w1
	case acc>>62 == 0b10:
		acc, n, w = acc<<2, n-2, w2
	default:
		m := uint(acc>>56) & 63
		acc, n = acc<<8, n-8
		var z uint64
		if m > 0 {
			z, pos, acc, n = readBits(data, pos, acc, n, m)
		}
		z |= 1 << m
		return int64(z>>1) ^ -int64(z&1), pos, acc, n
	}
	if w == 0 {
		return 0, pos, acc, n
	}
	v, pos, acc, n := readBits(data, pos, acc, n, w)
	return int64(v<<(64-w)) >> (64 - w), pos, acc, n
}
