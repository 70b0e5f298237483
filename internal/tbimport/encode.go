package tbimport

import (
	"encoding/binary"
	"math"
)

// AppendRecord appends data to dst framed as a TFRecord.
func AppendRecord(dst, data []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint64(h[:], uint64(len(data)))
	binary.LittleEndian.PutUint32(h[8:], maskedCRC(h[:8]))
	dst = append(dst, h[:]...)
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, maskedCRC(data))
}

// AppendScalarEvent appends to dst the Event protocol buffer that
// SummaryWriter.add_scalar writes: a wall time, a step and one
// simple_value. Frame it with AppendRecord.
func AppendScalarEvent(dst []byte, wallTime float64, step int64, tag string, value float32) []byte {
	// Value: tag (1), simple_value (2).
	vlen := 1 + varintLen(uint64(len(tag))) + len(tag) + 1 + 4
	// Summary: value (1).
	slen := 1 + varintLen(uint64(vlen)) + vlen
	dst = append(dst, 1<<3|wire64)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(wallTime))
	dst = append(dst, 2<<3|wireVarint)
	dst = binary.AppendUvarint(dst, uint64(step))
	dst = append(dst, 5<<3|wireBytes)
	dst = binary.AppendUvarint(dst, uint64(slen))
	dst = append(dst, 1<<3|wireBytes)
	dst = binary.AppendUvarint(dst, uint64(vlen))
	dst = append(dst, 1<<3|wireBytes)
	dst = binary.AppendUvarint(dst, uint64(len(tag)))
	dst = append(dst, tag...)
	dst = append(dst, 2<<3|wire32)
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(value))
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
