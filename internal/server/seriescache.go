package server

import (
	"container/list"
	"context"
	"math"
	"sort"
	"sync"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// defaultCacheBytes bounds the memory the cache of decoded series holds.
const defaultCacheBytes = 256 << 20

// seriesCache keeps decoded series, by run and key, with their x
// coordinates on the axes asked for, so that zooming and redrawing a chart
// of a million points costs a binary search and a downsampling, not a
// decoding. An entry is good while its run's generation is unchanged;
// the least recently used entries go first when the cache is full.
type seriesCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	lru   *list.List // of *seriesEntry, most recent first
	byKey map[seriesKey]*list.Element
}

type seriesKey struct{ run, key string }

// seriesEntry is one decoded series of a run.
type seriesEntry struct {
	key     seriesKey
	gen     uint64
	pts     series.Points // in step order
	startMs int64
	segs    []series.Segment

	mu   sync.Mutex
	axes map[series.Axis]*axisData
	size int64 // bytes, for the cache's bound; guarded by the cache's mu
}

// axisData is a series ordered by its x coordinate on one axis.
type axisData struct {
	xs    []float64
	ys    []float64
	steps []int64
}

func newSeriesCache(maxBytes int64) *seriesCache {
	return &seriesCache{max: maxBytes, lru: list.New(), byKey: map[seriesKey]*list.Element{}}
}

// get returns the entry of a run's series at generation gen, reading it
// from the store when the cache has no current one.
func (c *seriesCache) get(ctx context.Context, st store.Store, run store.Run, key string, gen uint64) (*seriesEntry, error) {
	k := seriesKey{run.ID, key}
	c.mu.Lock()
	if el, ok := c.byKey[k]; ok {
		e := el.Value.(*seriesEntry)
		if e.gen == gen {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e, nil
		}
		c.removeLocked(el)
	}
	c.mu.Unlock()

	pts, err := st.Points(ctx, run.ID, key, store.PointsOptions{})
	if err != nil {
		return nil, err
	}
	segs, err := summary.Segments(ctx, st, run.ID)
	if err != nil {
		return nil, err
	}
	e := &seriesEntry{key: k, gen: gen, pts: pts, startMs: int64(math.Round(run.Start * 1000)), segs: segs,
		axes: map[series.Axis]*axisData{}, size: int64(pts.Len()) * 24}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok { // another request read it meanwhile
		if old := el.Value.(*seriesEntry); old.gen >= gen {
			c.lru.MoveToFront(el)
			return old, nil
		}
		c.removeLocked(el)
	}
	c.byKey[k] = c.lru.PushFront(e)
	c.size += e.size
	c.evictLocked()
	return e, nil
}

// grow accounts for memory an entry took on after it was cached.
func (c *seriesCache) grow(e *seriesEntry, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok && el.Value == e {
		e.size += n
		c.size += n
		c.evictLocked()
	}
}

func (c *seriesCache) evictLocked() {
	for c.size > c.max && c.lru.Len() > 1 {
		c.removeLocked(c.lru.Back())
	}
}

func (c *seriesCache) removeLocked(el *list.Element) {
	e := el.Value.(*seriesEntry)
	c.lru.Remove(el)
	delete(c.byKey, e.key)
	c.size -= e.size
}

// axis returns the series ordered by x on axis, computing it once.
func (c *seriesCache) axis(e *seriesEntry, axis series.Axis) *axisData {
	a, added := e.axis(axis)
	if added > 0 {
		c.grow(e, added)
	}
	return a
}

// axis returns the series ordered by x on axis and the bytes that took,
// if it was not computed before.
func (e *seriesEntry) axis(axis series.Axis) (*axisData, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.axes[axis]; ok {
		return a, 0
	}
	var added int64
	a := &axisData{xs: series.X(e.pts, axis, e.startMs, e.segs), ys: e.pts.Values, steps: e.pts.Steps}
	// The store gives points in step order; a time axis of a run whose
	// steps went back in time (a resume from an earlier checkpoint) is not.
	if axis != series.AxisStep && !sort.Float64sAreSorted(a.xs) {
		idx := make([]int, len(a.xs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return a.xs[idx[i]] < a.xs[idx[j]] })
		xs, ys, steps := make([]float64, len(idx)), make([]float64, len(idx)), make([]int64, len(idx))
		for i, j := range idx {
			xs[i], ys[i], steps[i] = a.xs[j], a.ys[j], a.steps[j]
		}
		a = &axisData{xs: xs, ys: ys, steps: steps}
		added += int64(len(idx)) * 16
	}
	added += int64(len(a.xs)) * 8
	e.axes[axis] = a
	return a, added
}

// refresh reads again the cached series of runs that changed, with the
// axes they were shown on, so that a live chart's next request (which the
// event of the change prompts) finds them decoded. gen gives each run's
// current generation.
func (c *seriesCache) refresh(ctx context.Context, st store.Store, changed []string, gen func(string) uint64) {
	want := make(map[string]bool, len(changed))
	for _, id := range changed {
		want[id] = true
	}
	type stale struct {
		key  string
		axes []series.Axis
	}
	byRun := map[string][]stale{}
	c.mu.Lock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*seriesEntry)
		if !want[e.key.run] {
			continue
		}
		e.mu.Lock()
		s := stale{key: e.key.key}
		for a := range e.axes {
			s.axes = append(s.axes, a)
		}
		e.mu.Unlock()
		byRun[e.key.run] = append(byRun[e.key.run], s)
	}
	c.mu.Unlock()
	for id, list := range byRun {
		run, err := st.Run(ctx, id)
		if err != nil {
			continue // gone: the stale entries age out
		}
		for _, s := range list {
			e, err := c.get(ctx, st, run, s.key, gen(id))
			if err != nil {
				continue
			}
			for _, a := range s.axes {
				c.axis(e, a)
			}
		}
	}
}
