package series

import (
	"encoding/binary"
	"errors"
	"math"
)

// Point is one point of a series. Time is unix milliseconds.
type Point struct {
	Step  int64
	Time  int64
	Value float64
}

// At returns the i-th point of p.
func (p *Points) At(i int) Point {
	return Point{p.Steps[i], p.Times[i], p.Values[i]}
}

// Stats are the summary statistics of a series, kept up to date point by
// point and merged chunk by chunk, so that no view ever rescans the points.
//
// First is the point with the smallest step and Last the one with the
// greatest (ties go to the earlier and the later logged point). Min and Max
// are taken over values that are not NaN, so an infinite loss shows as the
// maximum; the mean is taken over finite values only.
type Stats struct {
	Count  int64 // all points
	Finite int64 // points with finite values
	NaN    int64
	Inf    int64 // +Inf and -Inf
	Sum    float64
	First  Point
	Last   Point
	Min    Point
	Max    Point
	// Ordered is false once a point was logged with a smaller step than the
	// point before it.
	Ordered bool
	hasExt  bool // Min and Max are set
	tail    int64
}

// Mean returns the mean of the finite values, or NaN if there are none.
func (s *Stats) Mean() float64 {
	if s.Finite == 0 {
		return math.NaN()
	}
	return s.Sum / float64(s.Finite)
}

// HasExtremes reports whether Min and Max are set: whether any value was not
// NaN.
func (s *Stats) HasExtremes() bool { return s.hasExt }

// Add accounts for one more point, logged after all points seen so far.
func (s *Stats) Add(step, timeMs int64, v float64) {
	p := Point{step, timeMs, v}
	if s.Count == 0 {
		s.First, s.Last, s.Ordered = p, p, true
	} else {
		if step < s.First.Step {
			s.First = p
		}
		if step >= s.Last.Step {
			s.Last = p
		}
		if step < s.tail {
			s.Ordered = false
		}
	}
	s.tail = step
	s.Count++
	switch {
	case math.IsNaN(v):
		s.NaN++
		return
	case math.IsInf(v, 0):
		s.Inf++
	default:
		s.Finite++
		s.Sum += v
	}
	if !s.hasExt {
		s.Min, s.Max, s.hasExt = p, p, true
		return
	}
	if v < s.Min.Value {
		s.Min = p
	}
	if v > s.Max.Value {
		s.Max = p
	}
}

// AddPoints accounts for all points of p, in order.
func (s *Stats) AddPoints(p Points) {
	for i, step := range p.Steps {
		s.Add(step, p.Times[i], p.Values[i])
	}
}

// Merge accounts for the points of o, which were logged after those of s.
func (s *Stats) Merge(o Stats) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 {
		*s = o
		return
	}
	ordered := s.Ordered && o.Ordered && o.First.Step >= s.tail
	if o.First.Step < s.First.Step {
		s.First = o.First
	}
	if o.Last.Step >= s.Last.Step {
		s.Last = o.Last
	}
	s.Count += o.Count
	s.Finite += o.Finite
	s.NaN += o.NaN
	s.Inf += o.Inf
	s.Sum += o.Sum
	s.Ordered = ordered
	s.tail = o.tail
	if o.hasExt {
		if !s.hasExt {
			s.Min, s.Max, s.hasExt = o.Min, o.Max, true
		} else {
			if o.Min.Value < s.Min.Value {
				s.Min = o.Min
			}
			if o.Max.Value > s.Max.Value {
				s.Max = o.Max
			}
		}
	}
}

const statsVersion = 1

// statsSize is the length of an encoded Stats.
const statsSize = 1 + 1 + 4*8 + 8 + 4*3*8 + 8

// MarshalBinary encodes s in a fixed little-endian layout of statsSize bytes.
func (s *Stats) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, statsSize))
}

// AppendBinary appends the encoding of s to b.
func (s *Stats) AppendBinary(b []byte) ([]byte, error) {
	var flags byte
	if s.Ordered {
		flags |= 1
	}
	if s.hasExt {
		flags |= 2
	}
	b = append(b, statsVersion, flags)
	for _, n := range []int64{s.Count, s.Finite, s.NaN, s.Inf} {
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Sum))
	for _, p := range []Point{s.First, s.Last, s.Min, s.Max} {
		b = binary.LittleEndian.AppendUint64(b, uint64(p.Step))
		b = binary.LittleEndian.AppendUint64(b, uint64(p.Time))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Value))
	}
	return binary.LittleEndian.AppendUint64(b, uint64(s.tail)), nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (s *Stats) UnmarshalBinary(b []byte) error {
	if len(b) != statsSize || b[0] != statsVersion {
		return errors.New("series: bad stats encoding")
	}
	s.Ordered, s.hasExt = b[1]&1 != 0, b[1]&2 != 0
	u := func() uint64 { v := binary.LittleEndian.Uint64(b); b = b[8:]; return v }
	b = b[2:]
	s.Count, s.Finite, s.NaN, s.Inf = int64(u()), int64(u()), int64(u()), int64(u())
	s.Sum = math.Float64frombits(u())
	for _, p := range []*Point{&s.First, &s.Last, &s.Min, &s.Max} {
		p.Step, p.Time, p.Value = int64(u()), int64(u()), math.Float64frombits(u())
	}
	s.tail = int64(u())
	return nil
}
