package series

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// ErrCorruptChunk is returned, wrapped with details, when a chunk cannot be
// decoded because it is truncated or malformed.
var ErrCorruptChunk = errors.New("series: corrupt chunk")

// formatVersion is the version in the high four bits of a chunk's first byte.
// The low four bits are the value codec.
const formatVersion = 1

// Value codecs. The delta codecs have the id of their order.
const (
	codecXOR      = 0 // Gorilla XOR of each value's bits with the last's
	maxDeltaOrder = 4 // ids 1 to maxDeltaOrder are deltas of bit patterns
)

// A codec says how the values of a chunk are coded. For the delta codecs
// it holds the parameters that the encoder chose for the chunk.
type codec struct {
	id     uint8 // codecXOR, or the order of the delta codec
	shift  uint8 // low zero bits dropped from every residual, 0 to 63
	w1, w2 uint8 // widths of the short and long residual codes, 0 to 64
}

// minPointBits is the fewest bits a point after the first can take: a zero
// step delta-of-delta, a zero time delta-of-delta and a 1-bit value code.
const minPointBits = 3

// noWindow is the encoder's leading-zero count of the XOR window before any
// window has been set. No non-zero XOR has 64 leading zeros, so a new XOR
// never fits it and the first changed value always opens a window with '11'.
const noWindow = 64

// AppendChunk encodes p (all of it; the caller limits chunk size) and appends
// the encoding to dst. It panics if the columns of p differ in length.
func AppendChunk(dst []byte, p Points) []byte {
	if len(p.Times) != len(p.Steps) || len(p.Values) != len(p.Steps) {
		panic("series: AppendChunk: Points columns differ in length")
	}
	return appendChunk(dst, p, chooseCodec(p.Values))
}

// chooseCodec returns the codec that codes values in the fewest bits,
// counting its parameter bytes. Ties go to the lowest id, so a chunk that
// gains nothing from a delta codec stays XOR.
func chooseCodec(values []float64) codec {
	best, cost := codec{id: codecXOR}, xorCost(values)
	cs, costs := deltaCodecs(values)
	for i, c := range cs {
		if costs[i]+deltaParamBytes*8 < cost {
			best, cost = c, costs[i]+deltaParamBytes*8
		}
	}
	return best
}

// appendChunk is AppendChunk with the value codec given.
func appendChunk(dst []byte, p Points, c codec) []byte {
	count := len(p.Steps)
	dst = append(dst, formatVersion<<4|c.id)
	dst = binary.AppendUvarint(dst, uint64(count))
	if count == 0 {
		return dst
	}
	steps, times, values := p.Steps, p.Times[:count], p.Values[:count]
	dst = binary.AppendVarint(dst, steps[0])
	dst = binary.AppendVarint(dst, times[0])
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(values[0]))
	if c.id != codecXOR {
		dst = append(dst, c.shift, c.w1, c.w2)
	}
	w := appendStepsTimes(bitWriter{buf: dst}, steps, times)
	if c.id == codecXOR {
		w = appendXOR(w, values)
	} else {
		w = appendDelta(w, values, c)
	}
	return w.flush()
}

// appendStepsTimes writes the step and time codes of points 1 and up.
func appendStepsTimes(w bitWriter, steps, times []int64) bitWriter {
	times = times[:len(steps)]
	prevStep, prevTime := steps[0], times[0]
	var stepDelta, timeDelta int64
	for i := 1; i < len(steps); i++ {
		// Deltas wrap on overflow; the decoder wraps the same way, so any
		// pair of int64s round-trips.
		d := steps[i] - prevStep
		stepDod := d - stepDelta
		stepDelta, prevStep = d, steps[i]

		d = times[i] - prevTime
		timeDod := d - timeDelta
		timeDelta, prevTime = d, times[i]

		// Both codes fit one 56-bit write unless one of them is raw.
		sc, sn := dodCode(stepDod)
		tc, tn := dodCode(timeDod)
		if sn != 0 && tn != 0 {
			w.writeBits(sc<<tn|tc, sn+tn)
		} else {
			writeDod(&w, stepDod, sc, sn)
			writeDod(&w, timeDod, tc, tn)
		}
	}
	return w
}

// xorWindow returns the leading zeros, capped at the 31 that the code can
// say, and the trailing zeros of a non-zero XOR, and whether the encoder
// codes it in the window (lead, trail, sig) of the last '11' code.
//
// '10' costs 2+sig bits, '11' costs 13 plus the new window's width. Gorilla
// and Prometheus reuse any window that fits, so one outlier can leave a wide
// window in use for the rest of the chunk; reuse it only when that is no
// dearer for this value. The format allows either choice: it is the
// encoder's alone.
func xorWindow(x uint64, lead, trail, sig uint) (l, t uint, reuse bool) {
	l = min(uint(bits.LeadingZeros64(x)), 31)
	t = uint(bits.TrailingZeros64(x))
	return l, t, l >= lead && t >= trail && sig <= 64-l-t+11
}

// appendXOR writes the XOR codes of values 1 and up.
func appendXOR(w bitWriter, values []float64) bitWriter {
	prevBits := math.Float64bits(values[0])
	lead, trail, sig := uint(noWindow), uint(0), uint(0)
	for _, v := range values[1:] {
		vb := math.Float64bits(v)
		x := vb ^ prevBits
		prevBits = vb
		if x == 0 {
			w.writeBits(0, 1)
			continue
		}
		l, t, reuse := xorWindow(x, lead, trail, sig)
		if reuse { // '10'
			if sig <= 62 {
				w.writeBits(1<<(sig+1)|x>>trail, sig+2)
			} else {
				w.writeBits(0b10, 2)
				w.writeBits(x>>trail, sig)
			}
			continue
		}
		// '11': open a new window. A 64-bit window is written as 0.
		lead, trail, sig = l, t, 64-l-t
		hdr := 0b11<<11 | uint64(l)<<6 | uint64(sig&63)
		if sig <= 64-13 {
			w.writeBits(hdr<<sig|x>>t, 13+sig)
		} else {
			w.writeBits(hdr, 13)
			w.writeBits(x>>t, sig)
		}
	}
	return w
}

// xorCost returns the number of bits that appendXOR writes for values.
func xorCost(values []float64) int {
	if len(values) < 2 {
		return 0
	}
	cost := uint(0)
	prevBits := math.Float64bits(values[0])
	lead, trail, sig := uint(noWindow), uint(0), uint(0)
	for _, v := range values[1:] {
		vb := math.Float64bits(v)
		x := vb ^ prevBits
		prevBits = vb
		if x == 0 {
			cost++
			continue
		}
		l, t, reuse := xorWindow(x, lead, trail, sig)
		if reuse {
			cost += 2 + sig
			continue
		}
		lead, trail, sig = l, t, 64-l-t
		cost += 13 + sig
	}
	return int(cost)
}

// DecodeChunk decodes one chunk and appends its points to dst. data must hold
// exactly one chunk. It returns an error (wrapping ErrCorruptChunk) for
// truncated or malformed input and never panics; on error dst is left as it
// was.
func DecodeChunk(data []byte, dst *Points) error {
	c, count, rest, err := decodeHeader(data)
	if err != nil || count == 0 {
		if err == nil && len(rest) != 0 {
			err = fmt.Errorf("%w: %d bytes after empty chunk", ErrCorruptChunk, len(rest))
		}
		return err
	}
	step, n := binary.Varint(rest)
	if n <= 0 {
		return fmt.Errorf("%w: bad first step", ErrCorruptChunk)
	}
	rest = rest[n:]
	tm, n := binary.Varint(rest)
	if n <= 0 {
		return fmt.Errorf("%w: bad first time", ErrCorruptChunk)
	}
	rest = rest[n:]
	if len(rest) < 8 {
		return fmt.Errorf("%w: truncated first value", ErrCorruptChunk)
	}
	vb := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	if c.id != codecXOR {
		if c, rest, err = decodeDeltaParams(c, rest); err != nil {
			return err
		}
	}
	// Check the count against the bits it needs before allocating for it.
	if count-1 > len(rest)*8/minPointBits {
		return fmt.Errorf("%w: %d points cannot fit in %d bytes", ErrCorruptChunk, count, len(data))
	}

	// Decode straight into the grown columns; cut them back on error.
	n0, n1, n2 := len(dst.Steps), len(dst.Times), len(dst.Values)
	steps := slices.Grow(dst.Steps, count)[:n0+count]
	times := slices.Grow(dst.Times, count)[:n1+count]
	values := slices.Grow(dst.Values, count)[:n2+count]
	dst.Steps, dst.Times, dst.Values = steps, times, values
	steps, times, values = steps[n0:], times[n1:], values[n2:]
	steps[0], times[0], values[0] = step, tm, math.Float64frombits(vb)

	pos, acc, nb := decodeStepsTimes(rest, steps, times)
	if c.id == codecXOR {
		pos, acc, nb, err = decodeXOR(rest, pos, acc, nb, values)
	} else {
		pos, acc, nb = decodeDelta(rest, pos, acc, nb, values, c)
	}
	if err == nil {
		err = checkEnd(rest, pos, acc, nb, count)
	}
	if err != nil {
		dst.Steps, dst.Times, dst.Values = dst.Steps[:n0], dst.Times[:n1], dst.Values[:n2]
	}
	return err
}

// decodeStepsTimes decodes the step and time codes at the start of the bit
// stream into points 1 and up of the columns, whose point 0 is filled in. It
// returns the reader state after the last time code.
func decodeStepsTimes(stream []byte, steps, times []int64) (pos int, acc uint64, n uint) {
	times = times[:len(steps)] // drop bounds checks
	step, tm := steps[0], times[0]
	var stepDelta, timeDelta, dod int64
	// The loop is written out rather than built from helpers so that its
	// state stays in registers, and it tests for the common forms of each
	// field first: a well-predicted branch takes the table lookups and
	// shifts of a general decoder off the serial chain of bit reads.
	for i := 1; i < len(steps); i++ {
		// One refill leaves at least 56 bits: enough for both delta-of-deltas
		// unless one is raw, and readDod refills after a raw one.
		pos, acc, n = refill(stream, pos, acc, n)
		if acc>>63 == 0 {
			acc, n = acc<<1, n-1
		} else {
			dod, pos, acc, n = readDod(stream, pos, acc, n)
			stepDelta += dod
		}
		if acc>>62 == 0b10 {
			timeDelta += int64(acc<<2) >> (64 - 7)
			acc, n = acc<<(2+7), n-(2+7)
		} else {
			dod, pos, acc, n = readDod(stream, pos, acc, n)
			timeDelta += dod
		}
		step += stepDelta
		tm += timeDelta
		steps[i], times[i] = step, tm
	}
	return pos, acc, n
}

// decodeXOR decodes the XOR codes of values 1 and up, continuing from the
// reader state (pos, acc, n); values[0] is filled in.
func decodeXOR(stream []byte, pos int, acc uint64, n uint, values []float64) (int, uint64, uint, error) {
	vb := math.Float64bits(values[0])
	// sig == 0 stands for no window yet; a real window is 1 to 64 bits wide.
	var trail, sig uint
	for i := 1; i < len(values); i++ {
		if n < 2+5+6 {
			pos, acc, n = refill(stream, pos, acc, n)
		}
		if acc>>63 == 0 { // '0': same value
			values[i] = math.Float64frombits(vb)
			acc, n = acc<<1, n-1
			continue
		}
		if acc>>62 == 0b11 { // '11': new window
			lead := uint(acc>>57) & 31
			sig = uint(acc>>51) & 63
			if sig == 0 {
				sig = 64
			}
			if lead+sig > 64 {
				return pos, acc, n, fmt.Errorf("%w: value %d has %d leading and %d meaningful bits", ErrCorruptChunk, i, lead, sig)
			}
			trail = 64 - lead - sig
			acc, n = acc<<11, n-11 // the prefix goes below
		} else if sig == 0 { // '10' before any '11'
			return pos, acc, n, fmt.Errorf("%w: value %d reuses a window before one is set", ErrCorruptChunk, i)
		}
		acc, n = acc<<2, n-2
		var x uint64
		if n >= sig {
			x, acc, n = acc>>((64-sig)&63), acc<<(sig&63), n-sig
		} else {
			x, pos, acc, n = readBits(stream, pos, acc, n, sig)
		}
		vb ^= x << (trail & 63)
		values[i] = math.Float64frombits(vb)
	}
	return pos, acc, n, nil
}

// checkEnd checks the reader state after the last code of a chunk of count
// points: the bits read must end in the last byte of the stream, and the
// padding after them must be zero, so that a chunk has exactly one valid
// length.
func checkEnd(stream []byte, pos int, acc uint64, n uint, count int) error {
	used := consumed(pos, n)
	if used > len(stream)*8 {
		return fmt.Errorf("%w: truncated: %d points need more than %d stream bytes", ErrCorruptChunk, count, len(stream))
	}
	if pad := len(stream)*8 - used; pad >= 8 {
		return fmt.Errorf("%w: %d bytes after the last point", ErrCorruptChunk, pad/8)
	} else if pad > 0 && acc>>(64-pad) != 0 {
		return fmt.Errorf("%w: non-zero padding bits", ErrCorruptChunk)
	}
	return nil
}

// decodeHeader reads the header byte and point count at the start of a chunk
// and returns them with the rest of the chunk. It rejects counts that the
// chunk is too short to hold, so callers may allocate for the count.
func decodeHeader(data []byte) (c codec, count int, rest []byte, err error) {
	if len(data) == 0 {
		return c, 0, nil, fmt.Errorf("%w: empty", ErrCorruptChunk)
	}
	if v := data[0] >> 4; v != formatVersion {
		return c, 0, nil, fmt.Errorf("%w: unsupported format version %d", ErrCorruptChunk, v)
	}
	c.id = data[0] & 15
	if c.id > maxDeltaOrder {
		return c, 0, nil, fmt.Errorf("%w: unknown value codec %d", ErrCorruptChunk, c.id)
	}
	u, n := binary.Uvarint(data[1:])
	if n <= 0 {
		return c, 0, nil, fmt.Errorf("%w: bad point count", ErrCorruptChunk)
	}
	rest = data[1+n:]
	// Point 0 takes at least 1+1+8 bytes, every other point 3 bits.
	if u > 0 && (len(rest) < 10 || u-1 > uint64(len(rest)-10)*8/minPointBits) {
		return c, 0, nil, fmt.Errorf("%w: %d points cannot fit in %d bytes", ErrCorruptChunk, u, len(data))
	}
	return c, int(u), rest, nil
}

// ChunkLen returns the number of points in an encoded chunk without decoding
// it. It only checks that the header is known and the count is plausible for
// the length of data, so a nil error does not mean that DecodeChunk will
// succeed.
func ChunkLen(data []byte) (int, error) {
	_, count, _, err := decodeHeader(data)
	return count, err
}
