package sweep

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// Median is the median stopping rule: a member whose best value of the
// metric by step k is worse than the median of the best values by step k
// of the other members that have already passed step k is stopped (as
// Google Vizier does, with best-so-far values rather than running means).
// It judges nothing before MinSteps, nor with fewer than MinMembers
// others to compare with. It is safe for concurrent use.
type Median struct {
	metric *Metric
	rule   EarlyTerminate

	mu      sync.Mutex
	history map[int][]point // by member: best-so-far values, steps ascending
}

type point struct {
	step int64
	best float64
}

// NewMedian returns the rule for a metric.
func NewMedian(m *Metric, rule EarlyTerminate) *Median {
	if rule.MinMembers < 1 {
		rule.MinMembers = 1
	}
	return &Median{metric: m, rule: rule, history: map[int][]point{}}
}

// Seed gives the rule what a member logged before this run of the sweep —
// the metric's values of a finished or stopped member, in step order — so
// that a resumed sweep judges its members by the members that ran before
// it. It judges nothing.
func (md *Median) Seed(member int, steps []int64, values []float64) {
	md.mu.Lock()
	defer md.mu.Unlock()
	for i := range min(len(steps), len(values)) {
		md.add(member, steps[i], values[i])
	}
}

// add records value v of a member at step and returns the member's best
// value by step. md.mu is held.
func (md *Median) add(member int, step int64, v float64) float64 {
	h := md.history[member]
	// A resumed member rewinds: what it logged after step is abandoned.
	i := sort.Search(len(h), func(i int) bool { return h[i].step >= step })
	h = h[:i]
	best := v
	if n := len(h); n > 0 && (math.IsNaN(v) || !md.metric.Better(v, h[n-1].best)) && !math.IsNaN(h[n-1].best) {
		best = h[n-1].best
	}
	md.history[member] = append(h, point{step, best})
	return best
}

// Observe takes the values a member logged at a step and returns why it
// should stop, or "". Values of other keys are ignored.
func (md *Median) Observe(member int, step int64, values map[string]float64) string {
	v, ok := values[md.metric.Name]
	if !ok {
		return ""
	}
	md.mu.Lock()
	defer md.mu.Unlock()
	best := md.add(member, step, v)
	if step < md.rule.MinSteps {
		return ""
	}
	var others []float64
	for j, hj := range md.history {
		if j == member || len(hj) == 0 || hj[len(hj)-1].step < step {
			continue // not past step k yet
		}
		k := sort.Search(len(hj), func(i int) bool { return hj[i].step > step }) - 1
		if k >= 0 && !math.IsNaN(hj[k].best) {
			others = append(others, hj[k].best)
		}
	}
	if len(others) < md.rule.MinMembers {
		return ""
	}
	sort.Float64s(others)
	med := others[len(others)/2]
	if len(others)%2 == 0 {
		med = (others[len(others)/2-1] + others[len(others)/2]) / 2
	}
	if math.IsNaN(best) || md.metric.Better(med, best) {
		return fmt.Sprintf("median stopping rule: best %s by step %d is %.4g, worse than the median %.4g of %d members at that step",
			md.metric.Name, step, best, med, len(others))
	}
	return ""
}
