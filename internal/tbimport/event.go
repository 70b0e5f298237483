package tbimport

import (
	"encoding/binary"
	"errors"
	"math"
)

// The protobuf messages of an event file, reduced to the fields that hold
// scalars (tensorflow/core/util/event.proto, framework/summary.proto,
// framework/tensor.proto):
//
//	Event            1 wall_time double, 2 step int64, 5 summary Summary
//	Summary          1 value repeated Value
//	Value            1 tag string, 2 simple_value float, 8 tensor TensorProto,
//	                 9 metadata SummaryMetadata
//	SummaryMetadata  1 plugin_data PluginData (1 plugin_name string), 4 data_class enum
//	TensorProto      1 dtype enum, 2 tensor_shape, 4 tensor_content bytes,
//	                 5 float_val, 6 double_val, 7 int_val, 10 int64_val,
//	                 11 bool_val, 13 half_val, 16 uint32_val, 17 uint64_val
//
// A scalar is a Value with a simple_value (TensorFlow 1, PyTorch and
// tensorboardX by default), or one whose tensor holds one number and whose
// tag belongs to the "scalars" plugin, as TensorBoard's own scalars plugin
// reads them (TensorFlow 2's tf.summary.scalar,
// new_style=True in PyTorch and tensorboardX). TensorBoard writes a tag's
// metadata only with its first value, so the plugin of each tag is
// remembered.

var errProto = errors.New("malformed protocol buffer")

// Wire types.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

// field is one field of a message.
type field struct {
	num  uint64
	wire uint64
	v    uint64 // varint and fixed values
	b    []byte // length-delimited values
}

// nextField reads the field at the start of b and returns the rest.
func nextField(b []byte) (field, []byte, error) {
	key, n := binary.Uvarint(b)
	if n <= 0 {
		return field{}, nil, errProto
	}
	b = b[n:]
	f := field{num: key >> 3, wire: key & 7}
	switch f.wire {
	case wireVarint:
		f.v, n = binary.Uvarint(b)
		if n <= 0 {
			return f, nil, errProto
		}
		b = b[n:]
	case wire64:
		if len(b) < 8 {
			return f, nil, errProto
		}
		f.v, b = binary.LittleEndian.Uint64(b), b[8:]
	case wire32:
		if len(b) < 4 {
			return f, nil, errProto
		}
		f.v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
	case wireBytes:
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return f, nil, errProto
		}
		f.b, b = b[n:n+int(l)], b[n+int(l):]
	default: // groups (3, 4) are not used by these messages
		return f, nil, errProto
	}
	return f, b, nil
}

// scalar is one scalar value of an event.
type scalar struct {
	tag   []byte // points into the record
	value float64
}

// event is what an Event holds for runlog.
type event struct {
	wallTime float64
	step     int64
	scalars  []scalar
	rich     []richValue // texts, images and histograms (rich.go)
	badRich  int         // rich values that could not be decoded
}

// scalarsPlugin is the plugin of scalar summaries.
const scalarsPlugin = "scalars"

// pb reads the fields of a message; the fast paths, one-byte keys and
// lengths, are small enough to be inlined.
type pb struct {
	b []byte
	i int
}

func (p *pb) more() bool { return p.i < len(p.b) }

// varint reads a varint.
func (p *pb) varint() (uint64, bool) {
	if p.i < len(p.b) && p.b[p.i] < 0x80 {
		v := uint64(p.b[p.i])
		p.i++
		return v, true
	}
	return p.varintSlow()
}

func (p *pb) varintSlow() (uint64, bool) {
	if p.i > len(p.b) {
		return 0, false
	}
	v, n := binary.Uvarint(p.b[p.i:])
	if n <= 0 {
		return 0, false
	}
	p.i += n
	return v, true
}

func (p *pb) fixed64() (uint64, bool) {
	if len(p.b)-p.i < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint64(p.b[p.i:])
	p.i += 8
	return v, true
}

func (p *pb) fixed32() (uint32, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(p.b[p.i:])
	p.i += 4
	return v, true
}

// bytes reads a length-delimited value.
func (p *pb) bytes() ([]byte, bool) {
	l, ok := p.varint()
	if !ok || l > uint64(len(p.b)-p.i) {
		return nil, false
	}
	v := p.b[p.i : p.i+int(l)]
	p.i += int(l)
	return v, true
}

// skip skips a value of the wire type.
func (p *pb) skip(wire uint64) bool {
	var ok bool
	switch wire {
	case wireVarint:
		_, ok = p.varint()
	case wire64:
		_, ok = p.fixed64()
	case wire32:
		_, ok = p.fixed32()
	case wireBytes:
		_, ok = p.bytes()
	}
	return ok
}

// decodeEvent decodes the scalars of an Event. plugins holds the plugin of
// every tag seen so far, and learns those of new tags; scalars are appended
// to ev.scalars, which the caller resets.
func decodeEvent(b []byte, ev *event, plugins map[string]string) error {
	p := pb{b: b}
	for p.more() {
		key, ok := p.varint()
		if !ok {
			return errProto
		}
		switch key {
		case 1<<3 | wire64:
			v, ok := p.fixed64()
			if !ok {
				return errProto
			}
			ev.wallTime = math.Float64frombits(v)
		case 2<<3 | wireVarint:
			v, ok := p.varint()
			if !ok {
				return errProto
			}
			ev.step = int64(v)
		case 5<<3 | wireBytes:
			sum, ok := p.bytes()
			if !ok {
				return errProto
			}
			if err := decodeSummary(sum, ev, plugins); err != nil {
				return err
			}
		default:
			if !p.skip(key & 7) {
				return errProto
			}
		}
	}
	return nil
}

func decodeSummary(b []byte, ev *event, plugins map[string]string) error {
	p := pb{b: b}
	for p.more() {
		key, ok := p.varint()
		if !ok {
			return errProto
		}
		if key != 1<<3|wireBytes {
			if !p.skip(key & 7) {
				return errProto
			}
			continue
		}
		v, ok := p.bytes()
		if !ok {
			return errProto
		}
		if err := decodeValue(v, ev, plugins); err != nil {
			return err
		}
	}
	return nil
}

func decodeValue(b []byte, ev *event, plugins map[string]string) error {
	var tag, tensor, meta, img, histo []byte
	var simple uint32
	hasSimple := false
	p := pb{b: b}
	for p.more() {
		key, ok := p.varint()
		if !ok {
			return errProto
		}
		switch key {
		case 1<<3 | wireBytes:
			tag, ok = p.bytes()
		case 2<<3 | wire32:
			simple, ok = p.fixed32()
			hasSimple = true
		case 4<<3 | wireBytes:
			img, ok = p.bytes()
		case 5<<3 | wireBytes:
			histo, ok = p.bytes()
		case 8<<3 | wireBytes:
			tensor, ok = p.bytes()
		case 9<<3 | wireBytes:
			meta, ok = p.bytes()
		default:
			ok = p.skip(key & 7)
		}
		if !ok {
			return errProto
		}
	}
	if meta != nil {
		if _, known := plugins[string(tag)]; !known {
			plugin, err := decodeMetadata(meta)
			if err != nil {
				return err
			}
			plugins[string(tag)] = string(plugin)
		}
	}
	switch {
	case hasSimple:
		ev.scalars = append(ev.scalars, scalar{tag, float64(math.Float32frombits(simple))})
	case tensor != nil && plugins[string(tag)] == scalarsPlugin:
		v, ok, err := tensorScalar(tensor)
		if err != nil {
			return err
		}
		if ok {
			ev.scalars = append(ev.scalars, scalar{tag, v})
		}
	case img != nil || histo != nil || tensor != nil:
		var rv richValue
		var err error
		ok := true
		switch {
		case img != nil:
			rv, err = decodeImageSummary(tag, img)
		case histo != nil:
			rv, err = decodeHisto(tag, histo)
		default:
			rv, ok, err = decodeRichTensor(tag, tensor, plugins[string(tag)])
		}
		switch {
		case err != nil:
			ev.badRich++
		case ok:
			ev.rich = append(ev.rich, rv)
		}
	}
	return nil
}

// decodeMetadata returns the plugin name of a SummaryMetadata.
func decodeMetadata(b []byte) (plugin []byte, err error) {
	p := pb{b: b}
	for p.more() {
		key, ok := p.varint()
		if !ok {
			return nil, errProto
		}
		if key != 1<<3|wireBytes {
			if !p.skip(key & 7) {
				return nil, errProto
			}
			continue
		}
		pd, ok := p.bytes()
		if !ok {
			return nil, errProto
		}
		q := pb{b: pd}
		for q.more() {
			key, ok := q.varint()
			if !ok {
				return nil, errProto
			}
			if key == 1<<3|wireBytes {
				if plugin, ok = q.bytes(); !ok {
					return nil, errProto
				}
			} else if !q.skip(key & 7) {
				return nil, errProto
			}
		}
	}
	return plugin, nil
}

// TensorFlow's data types (tensorflow/core/framework/types.proto).
const (
	dtFloat    = 1
	dtDouble   = 2
	dtInt32    = 3
	dtUint8    = 4
	dtInt16    = 5
	dtInt8     = 6
	dtInt64    = 9
	dtBool     = 10
	dtBfloat16 = 14
	dtUint16   = 17
	dtHalf     = 19
	dtUint32   = 22
	dtUint64   = 23
)

// tensor is what a TensorProto holds for runlog: its type, its raw
// content, its typed numbers and its strings.
type tensor struct {
	dtype   uint64
	content []byte
	vals    []float64
	strs    [][]byte // string_val, pointing into the message
}

// decodeTensor reads the fields of a TensorProto.
func decodeTensor(b []byte) (t tensor, err error) {
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return t, err
		}
		b = rest
		switch f.num {
		case 1:
			t.dtype = f.v
		case 4:
			t.content = f.b
		case 5: // float_val
			t.vals, err = appendFixed(t.vals, f, 4, func(u uint64) float64 { return float64(math.Float32frombits(uint32(u))) })
		case 6: // double_val
			t.vals, err = appendFixed(t.vals, f, 8, func(u uint64) float64 { return math.Float64frombits(u) })
		case 7, 13: // int_val; half_val, which holds the 16 bits of a half or bfloat16
			conv := func(u uint64) float64 { return float64(int32(u)) }
			if f.num == 13 {
				brain := t.dtype == dtBfloat16
				conv = func(u uint64) float64 { return float16(uint16(u), brain) }
			}
			t.vals, err = appendVarints(t.vals, f, conv)
		case 8: // string_val
			if f.wire != wireBytes {
				return t, errProto
			}
			t.strs = append(t.strs, f.b)
		case 10: // int64_val
			t.vals, err = appendVarints(t.vals, f, func(u uint64) float64 { return float64(int64(u)) })
		case 11, 16, 17: // bool_val, uint32_val, uint64_val
			t.vals, err = appendVarints(t.vals, f, func(u uint64) float64 { return float64(u) })
		}
		if err != nil {
			return t, err
		}
	}
	return t, nil
}

// tensorScalar returns the value of a tensor that holds exactly one
// number; ok is false for any other tensor (a string, a vector).
func tensorScalar(b []byte) (v float64, ok bool, err error) {
	t, err := decodeTensor(b)
	if err != nil {
		return 0, false, err
	}
	if t.content != nil {
		return contentScalar(t.dtype, t.content)
	}
	if len(t.vals) != 1 {
		return 0, false, nil
	}
	return t.vals[0], true, nil
}

// appendFixed appends the values of a repeated fixed-size field, packed or
// not.
func appendFixed(dst []float64, f field, size int, conv func(uint64) float64) ([]float64, error) {
	switch {
	case f.wire == wireBytes:
		if len(f.b)%size != 0 {
			return dst, errProto
		}
		for p := f.b; len(p) > 0; p = p[size:] {
			if size == 4 {
				dst = append(dst, conv(uint64(binary.LittleEndian.Uint32(p))))
			} else {
				dst = append(dst, conv(binary.LittleEndian.Uint64(p)))
			}
		}
	case f.wire == wire32 && size == 4, f.wire == wire64 && size == 8:
		dst = append(dst, conv(f.v))
	default:
		return dst, errProto
	}
	return dst, nil
}

// appendVarints appends the values of a repeated varint field, packed or
// not.
func appendVarints(dst []float64, f field, conv func(uint64) float64) ([]float64, error) {
	switch f.wire {
	case wireBytes:
		for p := f.b; len(p) > 0; {
			u, n := binary.Uvarint(p)
			if n <= 0 {
				return dst, errProto
			}
			dst, p = append(dst, conv(u)), p[n:]
		}
	case wireVarint:
		dst = append(dst, conv(f.v))
	default:
		return dst, errProto
	}
	return dst, nil
}

// contentScalar reads a one-element tensor_content: the raw little-endian
// bytes of the value.
func contentScalar(dtype uint64, c []byte) (float64, bool, error) {
	size := map[uint64]int{dtFloat: 4, dtDouble: 8, dtInt32: 4, dtUint8: 1, dtInt16: 2, dtInt8: 1, dtInt64: 8,
		dtBool: 1, dtBfloat16: 2, dtUint16: 2, dtHalf: 2, dtUint32: 4, dtUint64: 8}[dtype]
	if size == 0 || len(c) != size {
		return 0, false, nil
	}
	switch dtype {
	case dtFloat:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(c))), true, nil
	case dtDouble:
		return math.Float64frombits(binary.LittleEndian.Uint64(c)), true, nil
	case dtInt32:
		return float64(int32(binary.LittleEndian.Uint32(c))), true, nil
	case dtUint8, dtBool:
		return float64(c[0]), true, nil
	case dtInt8:
		return float64(int8(c[0])), true, nil
	case dtInt16:
		return float64(int16(binary.LittleEndian.Uint16(c))), true, nil
	case dtUint16:
		return float64(binary.LittleEndian.Uint16(c)), true, nil
	case dtInt64:
		return float64(int64(binary.LittleEndian.Uint64(c))), true, nil
	case dtUint32:
		return float64(binary.LittleEndian.Uint32(c)), true, nil
	case dtUint64:
		return float64(binary.LittleEndian.Uint64(c)), true, nil
	case dtHalf, dtBfloat16:
		return float16(binary.LittleEndian.Uint16(c), dtype == dtBfloat16), true, nil
	}
	return 0, false, nil
}

// float16 converts the bits of an IEEE half or, with brain, a bfloat16.
func float16(h uint16, brain bool) float64 {
	if brain {
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinities and NaN
		return float64(math.Float32frombits(sign | 0xff<<23 | frac<<13))
	case exp == 0 && frac == 0:
		return float64(math.Float32frombits(sign))
	case exp == 0: // subnormal: normalize
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return float64(math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13))
	}
	return float64(math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13))
}
