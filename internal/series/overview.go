package series

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// OverviewBlock is the most points one block of an Overview summarizes.
// A chunk of 4,096 points has 64 blocks; an overview keeps at most five
// points of each, so a chart of a long series reads a sixteenth of its
// points or fewer.
const OverviewBlock = 64

// Roles of a point an Overview keeps, as bits: one point may have several.
const (
	RoleFirst uint8 = 1 << iota // the block's first point
	RoleMin                     // its lowest value (not NaN; the earliest of equals)
	RoleMax                     // its highest value (not NaN; the earliest of equals)
	RoleBad                     // its first non-finite value
	RoleLast                    // its last point
)

// Overview summarizes consecutive points of a series for drawing: the
// points are cut into blocks of at most OverviewBlock, and of each block it
// keeps what Downsample keeps of a bucket — the first, lowest, highest,
// first non-finite and last point. Buckets made of whole blocks are then
// downsampled from the overview alone (Downsample of an Overview) exactly
// as from the points. The store keeps one for every chunk, written when
// the chunk is (docs/chunk-format.md, "Overviews").
type Overview struct {
	Sizes  []int32 // points in each block, in order
	Points Points  // the points kept of each block, block after block, in logged order
	Roles  []uint8 // the roles of each kept point
}

// Count returns the number of points the overview summarizes.
func (o *Overview) Count() int {
	n := 0
	for _, s := range o.Sizes {
		n += int(s)
	}
	return n
}

// Reset empties o, keeping its storage.
func (o *Overview) Reset() {
	o.Sizes, o.Roles = o.Sizes[:0], o.Roles[:0]
	o.Points.Reset()
}

// Add appends the blocks of p: OverviewBlock points each, the last one
// shorter if p does not divide evenly.
func (o *Overview) Add(p Points) {
	for i := 0; i < p.Len(); i += OverviewBlock {
		j := min(i+OverviewBlock, p.Len())
		o.addBlock(p.Slice(i, j))
	}
}

// OverviewOf returns the overview of p.
func OverviewOf(p Points) Overview {
	var o Overview
	o.Add(p)
	return o
}

func (o *Overview) addBlock(p Points) {
	idx := bucketKeeps(p.Values)
	o.Sizes = append(o.Sizes, int32(p.Len()))
	// The kept points in logged order, each with all its roles.
	order := idx
	slices.Sort(order[:])
	prev := -1
	for _, i := range order {
		if i < 0 || i == prev {
			continue
		}
		prev = i
		var roles uint8
		for r, j := range idx {
			if j == i {
				roles |= 1 << r
			}
		}
		o.Points.Append(p.Steps[i], p.Times[i], p.Values[i])
		o.Roles = append(o.Roles, roles)
	}
}

// Append appends the blocks of q, which summarize points logged after
// those of o.
func (o *Overview) Append(q Overview) {
	o.Sizes = append(o.Sizes, q.Sizes...)
	o.Roles = append(o.Roles, q.Roles...)
	o.Points.Steps = append(o.Points.Steps, q.Points.Steps...)
	o.Points.Times = append(o.Points.Times, q.Points.Times...)
	o.Points.Values = append(o.Points.Values, q.Points.Values...)
}

// AppendOverview encodes o and appends the encoding to dst: the number of
// blocks and each block's size as uvarints, the number of kept points as
// a uvarint, one role byte per kept point, then the kept points as a
// chunk (AppendChunk).
func AppendOverview(dst []byte, o Overview) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(o.Sizes)))
	for _, s := range o.Sizes {
		dst = binary.AppendUvarint(dst, uint64(s))
	}
	dst = binary.AppendUvarint(dst, uint64(len(o.Roles)))
	dst = append(dst, o.Roles...)
	return AppendChunk(dst, o.Points)
}

// Grow makes room in o for blocks more blocks and kept more kept points,
// so that decoding many overviews into it copies nothing.
func (o *Overview) Grow(blocks, kept int) {
	o.Sizes = slices.Grow(o.Sizes, blocks)
	o.Roles = slices.Grow(o.Roles, kept)
	o.Points.Steps = slices.Grow(o.Points.Steps, kept)
	o.Points.Times = slices.Grow(o.Points.Times, kept)
	o.Points.Values = slices.Grow(o.Points.Values, kept)
}

// DecodeOverview decodes an overview that AppendOverview encoded and
// appends its blocks to dst.
func DecodeOverview(data []byte, dst *Overview) error {
	uvarint := func(what string, limit uint64) (uint64, error) {
		v, n := binary.Uvarint(data)
		if n <= 0 || v > limit {
			return 0, fmt.Errorf("%w: overview %s", ErrCorruptChunk, what)
		}
		data = data[n:]
		return v, nil
	}
	blocks, err := uvarint("block count", uint64(len(data)))
	if err != nil {
		return err
	}
	for range blocks {
		s, err := uvarint("block size", OverviewBlock)
		if err != nil {
			return err
		}
		if s == 0 {
			return fmt.Errorf("%w: overview block of no points", ErrCorruptChunk)
		}
		dst.Sizes = append(dst.Sizes, int32(s))
	}
	kept, err := uvarint("kept count", uint64(len(data)))
	if err != nil {
		return err
	}
	if kept > uint64(len(data)) {
		return fmt.Errorf("%w: overview roles cut short", ErrCorruptChunk)
	}
	dst.Roles = append(dst.Roles, data[:kept]...)
	data = data[kept:]
	before := dst.Points.Len()
	if err := DecodeChunk(data, &dst.Points); err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	if got := dst.Points.Len() - before; got != int(kept) {
		return fmt.Errorf("%w: overview holds %d points and %d roles", ErrCorruptChunk, got, kept)
	}
	return nil
}

// Downsample reduces the curve the overview summarizes, on the step axis,
// to at most about 4·buckets points, as Downsample does with the points:
// buckets are equal slices of the step range, and each keeps its first,
// lowest, highest, first non-finite and last point. The one difference is
// that a block goes whole into the bucket its first point falls in, so a
// bucket's edge may move by less than a block (OverviewBlock points);
// every point returned is a point of the series and no extreme is lost.
// The overview's points must be in step order.
func (o *Overview) Downsample(buckets int) Points {
	var out Points
	nb := len(o.Sizes)
	if nb == 0 || buckets < 1 {
		return out
	}
	// starts[k] is the index of block k's first kept point.
	starts := make([]int, 0, nb+1)
	for i, r := range o.Roles {
		if r&RoleFirst != 0 {
			starts = append(starts, i)
		}
	}
	if len(starts) != nb { // not an overview Add made; keep every point
		return o.Points
	}
	starts = append(starts, len(o.Roles))
	lo := float64(o.Points.Steps[0])
	hi := float64(o.Points.Steps[o.Points.Len()-1])
	width := (hi - lo) / float64(buckets)
	bucketOf := func(k int) int {
		if !(width > 0) {
			return k * buckets / nb
		}
		return min(int((float64(o.Points.Steps[starts[k]])-lo)/width), buckets-1)
	}
	for k := 0; k < nb; {
		b := bucketOf(k)
		end := k + 1
		for end < nb && bucketOf(end) == b {
			end++
		}
		o.appendBucket(&out, starts[k], starts[end]-1, starts[k:end+1])
		k = end
	}
	return out
}

// appendBucket appends to out what Downsample keeps of the blocks whose
// kept points start at starts (the last entry ends them): the first
// point, the last, the lowest, the highest and the first non-finite.
func (o *Overview) appendBucket(out *Points, first, last int, starts []int) {
	minI, maxI, bad := -1, -1, -1
	ys := o.Points.Values
	for i := starts[0]; i < starts[len(starts)-1]; i++ {
		r := o.Roles[i]
		if r&RoleMin != 0 && (minI < 0 || ys[i] < ys[minI]) {
			minI = i
		}
		if r&RoleMax != 0 && (maxI < 0 || ys[i] > ys[maxI]) {
			maxI = i
		}
		if r&RoleBad != 0 && bad < 0 {
			bad = i
		}
	}
	idx := [5]int{first, minI, maxI, bad, last}
	slices.Sort(idx[:])
	prev := -1
	for _, i := range idx {
		if i < 0 || i == prev {
			continue
		}
		out.Append(o.Points.Steps[i], o.Points.Times[i], o.Points.Values[i])
		prev = i
	}
}

// bucketKeeps returns the indices of the points of a bucket that
// downsampling keeps, in role order (first, lowest, highest, first
// non-finite, last), -1 for a role no point has.
func bucketKeeps(ys []float64) [5]int {
	minI, maxI, bad := -1, -1, -1
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			if bad < 0 {
				bad = i
			}
			continue
		}
		if minI < 0 || y < ys[minI] {
			minI = i
		}
		if maxI < 0 || y > ys[maxI] {
			maxI = i
		}
	}
	return [5]int{0, minI, maxI, bad, len(ys) - 1}
}
