package series

import "encoding/binary"

// bitWriter appends a bit stream, most significant bit first, to a byte
// slice. Bits are gathered in a 64-bit accumulator and written out a whole
// word at a time, so the per-write cost does not depend on the bit count.
type bitWriter struct {
	buf []byte
	acc uint64 // pending bits, left-aligned: the first pending bit is bit 63
	n   uint   // number of pending bits in acc, always < 64
}

// writeBits appends the low nbits bits of v, most significant first.
// nbits must be in [1, 64] and v must have no bits set at or above nbits.
func (w *bitWriter) writeBits(v uint64, nbits uint) {
	free := 64 - w.n
	if nbits < free {
		w.acc |= v << (free - nbits)
		w.n += nbits
		return
	}
	// The accumulator fills up: emit it and keep the rem bits of v that did
	// not fit. Go defines shifts by 64 as producing 0, which is exactly what
	// both shifts need when rem == 0.
	rem := nbits - free
	w.buf = binary.BigEndian.AppendUint64(w.buf, w.acc|v>>rem)
	w.acc = v << (64 - rem)
	w.n = rem
}

// flush writes the pending bits, zero-padded to a byte boundary, and returns
// the buffer. The writer must not be used afterwards.
func (w *bitWriter) flush() []byte {
	for i := uint(0); i < w.n; i += 8 {
		w.buf = append(w.buf, byte(w.acc>>(56-i)))
	}
	return w.buf
}

// The reader side is a set of functions on a state that the decoder keeps in
// three local variables rather than in a struct: the compiler keeps a struct
// in memory once a method takes its address, and the decode loop is short
// enough for those loads and stores to be a large part of it.
//
// The state is:
//
//   - pos, the index of the next byte of data to load. It runs past len(data)
//     by the number of zero bytes loaded in place of missing data.
//   - acc, the unread bits, left-aligned. Its top n bits are valid; the bits
//     below them are either zero or the bits that follow in the stream, never
//     anything else, so refill may OR the next bytes over them.
//   - n, the number of valid bits in acc, always < 64.
//
// Reading past the end of data yields zero bits instead of failing, which
// keeps the decode loop free of per-read error checks; the caller must check
// consumed after decoding and reject the input if it exceeds 8*len(data).

// refill loads whole bytes into acc until it holds at least 56 valid bits.
func refill(data []byte, pos int, acc uint64, n uint) (int, uint64, uint) {
	if pos+8 <= len(data) {
		// Load eight bytes and keep the whole bytes that fit below the valid
		// bits; a byte that fits only in part is loaded again next time.
		acc |= binary.BigEndian.Uint64(data[pos:]) >> (n & 63)
		return pos + int((63-n)>>3), acc, n | 56
	}
	return refillSlow(data, pos, acc, n)
}

// refillSlow is refill near the end of data, one byte at a time.
func refillSlow(data []byte, pos int, acc uint64, n uint) (int, uint64, uint) {
	for ; n <= 56; n += 8 {
		if pos < len(data) {
			acc |= uint64(data[pos]) << (56 - n)
		}
		pos++
	}
	return pos, acc, n
}

// readBits returns the next k bits, 1 ≤ k ≤ 64, as the low bits of v.
func readBits(data []byte, pos int, acc uint64, n, k uint) (v uint64, _ int, _ uint64, _ uint) {
	if n < k {
		if k > 56 {
			return readWide(data, pos, acc, n, k)
		}
		pos, acc, n = refill(data, pos, acc, n)
	}
	// Here 1 ≤ k ≤ n < 64: masking the shift counts tells the compiler so.
	return acc >> ((64 - k) & 63), pos, acc << (k & 63), n - k
}

// readWide is readBits for more bits than one refill guarantees.
func readWide(data []byte, pos int, acc uint64, n, k uint) (v uint64, _ int, _ uint64, _ uint) {
	pos, acc, n = refill(data, pos, acc, n)
	hi := acc >> 32
	acc, n = acc<<32, n-32
	pos, acc, n = refill(data, pos, acc, n)
	k -= 32
	return hi<<k | acc>>(64-k), pos, acc << k, n - k
}

// consumed returns the number of bits read from data, counting any zero bits
// read from beyond its end.
func consumed(pos int, n uint) int {
	return pos*8 - int(n)
}

// The step and time columns are coded as delta-of-deltas, each in one of
// the forms below; see docs/chunk-format.md.

// dodCode returns the code for a delta-of-delta and its length in bits, or a
// length of 0 if dod needs the raw 64-bit form. Each range test adds half the
// bucket's span and compares unsigned, which is exact even when the addition
// wraps.
func dodCode(dod int64) (code uint64, n uint) {
	switch {
	case dod == 0:
		return 0, 1
	case uint64(dod+1<<6) < 1<<7:
		return 0b10<<7 | uint64(dod)&(1<<7-1), 2 + 7
	case uint64(dod+1<<13) < 1<<14:
		return 0b110<<14 | uint64(dod)&(1<<14-1), 3 + 14
	case uint64(dod+1<<23) < 1<<24:
		return 0b1110<<24 | uint64(dod)&(1<<24-1), 4 + 24
	}
	return 0, 0
}

// writeDod writes the code returned by dodCode, or the raw form of dod if
// the code length n is 0.
func writeDod(w *bitWriter, dod int64, code uint64, n uint) {
	if n != 0 {
		w.writeBits(code, n)
		return
	}
	w.writeBits(0b1111, 4)
	w.writeBits(uint64(dod), 64)
}

// readDod reads a delta-of-delta of any form. The decode loop reads the usual
// form of each column itself and calls readDod for the others. acc must hold
// at least 28 valid bits, enough for any form but the raw one, after which
// readDod refills.
func readDod(data []byte, pos int, acc uint64, n uint) (dod int64, _ int, _ uint64, _ uint) {
	switch {
	case acc>>63 == 0: // '0'
		return 0, pos, acc << 1, n - 1
	case acc>>62 == 0b10:
		return int64(acc<<2) >> (64 - 7), pos, acc << (2 + 7), n - (2 + 7)
	case acc>>61 == 0b110:
		return int64(acc<<3) >> (64 - 14), pos, acc << (3 + 14), n - (3 + 14)
	case acc>>60 == 0b1110:
		return int64(acc<<4) >> (64 - 24), pos, acc << (4 + 24), n - (4 + 24)
	}
	v, pos, acc, n := readBits(data, pos, acc<<4, n-4, 64)
	pos, acc, n = refill(data, pos, acc, n)
	return int64(v), pos, acc, n
}
