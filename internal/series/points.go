// Package series stores the metric series of training runs: columnar
// batches of points and the compressed chunk format they are kept in.
//
// The chunk layout is specified in docs/chunk-format.md.
package series

import (
	"slices"
	"sort"
)

// Points is a columnar batch of points of one series, in the order they were
// logged. Times are unix milliseconds.
//
// The three slices always have the same length; a Points whose columns differ
// in length is invalid, and AppendChunk panics on it.
type Points struct {
	Steps  []int64
	Times  []int64
	Values []float64
}

// Len returns the number of points in p.
func (p *Points) Len() int { return len(p.Steps) }

// Append adds one point to the end of p.
func (p *Points) Append(step, timeMs int64, value float64) {
	p.Steps = append(p.Steps, step)
	p.Times = append(p.Times, timeMs)
	p.Values = append(p.Values, value)
}

// Reset empties p but keeps the capacity of its columns, so a Points can be
// reused as a decode buffer without reallocating.
func (p *Points) Reset() {
	p.Steps = p.Steps[:0]
	p.Times = p.Times[:0]
	p.Values = p.Values[:0]
}

// Slice returns the points with indices i through j-1. The result shares
// storage with p; its capacity ends at j, so appending to it reallocates
// rather than overwriting the points of p that follow it.
func (p *Points) Slice(i, j int) Points {
	return Points{
		Steps:  p.Steps[i:j:j],
		Times:  p.Times[i:j:j],
		Values: p.Values[i:j:j],
	}
}

// StepRange returns the points of p, which must be in step order, whose
// steps lie from from to to, both included. The result shares storage
// with p.
func (p *Points) StepRange(from, to int64) Points {
	i, _ := slices.BinarySearch(p.Steps, from)
	j := i + sort.Search(len(p.Steps)-i, func(k int) bool { return p.Steps[i+k] > to })
	return p.Slice(i, j)
}
