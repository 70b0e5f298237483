package series

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The spike rule: a loss value is a spike when it exceeds the factor times
// the median of the SpikeWindow values before it, once SpikeWarmup values
// have been seen, and no spike of that key was reported in the SpikeGap
// steps before.
const (
	SpikeWindow = 50
	SpikeWarmup = 10
	SpikeGap    = 100
	// DefaultSpikeFactor is the factor `runlog run` uses unless told
	// otherwise, and the one indexing judges every run by.
	DefaultSpikeFactor = 10
)

// Rules of an Alert.
const (
	RuleNonFinite = "nonfinite"
	RuleSpike     = "spike"
)

// IsWatchedKey reports whether key is watched for non-finite values and
// spikes: a key that names a loss.
func IsWatchedKey(key string) bool {
	return strings.Contains(strings.ToLower(key), "loss")
}

// Alert is what a Watch found in a value.
type Alert struct {
	Rule   string // RuleNonFinite or RuleSpike
	Key    string
	Step   int64
	Value  float64
	Median float64 // of the window before a spike
}

// Title is the alert's title, the same wherever it is detected: matching
// titles and steps is how a derived alert finds the one `runlog run`
// recorded.
func (a Alert) Title() string {
	if a.Rule == RuleNonFinite {
		return fmt.Sprintf("%s is %v", a.Key, a.Value)
	}
	return fmt.Sprintf("%s spiked to %.4g", a.Key, a.Value)
}

// Text says what happened, at which step.
func (a Alert) Text() string {
	if a.Rule == RuleNonFinite {
		return fmt.Sprintf("%s became %v at step %d", a.Key, a.Value, a.Step)
	}
	return fmt.Sprintf("%s was %.4g at step %d, %.1f× its recent median %.4g", a.Key, a.Value, a.Step, a.Value/a.Median, a.Median)
}

// Watch follows the values of watched keys in the order they were logged
// and reports the first non-finite value of each key and its spikes. It is
// deterministic: the same values in the same order give the same alerts,
// however they are split between calls. A Watch is not safe for concurrent
// use.
type Watch struct {
	// Factor is the spike factor; 0 or less reports no spikes.
	Factor float64
	keys   map[string]*keyWatch
}

type keyWatch struct {
	nonFinite bool
	recent    []float64 // the last SpikeWindow finite values
	spiked    bool
	spikeAt   int64
}

// NewWatch returns a Watch with the given spike factor.
func NewWatch(factor float64) *Watch {
	return &Watch{Factor: factor, keys: map[string]*keyWatch{}}
}

// Observe takes the value a key logged at step and returns the alert it
// raises, if any. Keys that IsWatchedKey rejects raise none.
func (w *Watch) Observe(key string, step int64, v float64) (Alert, bool) {
	if !IsWatchedKey(key) {
		return Alert{}, false
	}
	k := w.keys[key]
	if k == nil {
		k = &keyWatch{}
		w.keys[key] = k
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if k.nonFinite {
			return Alert{}, false
		}
		k.nonFinite = true
		return Alert{Rule: RuleNonFinite, Key: key, Step: step, Value: v}, true
	}
	if len(k.recent) == SpikeWindow {
		k.recent = append(k.recent[:0], k.recent[1:]...)
	}
	k.recent = append(k.recent, v)
	n := len(k.recent)
	if w.Factor <= 0 || n < SpikeWarmup {
		return Alert{}, false
	}
	before := slices.Clone(k.recent[:n-1])
	slices.Sort(before)
	med := before[len(before)/2]
	if med <= 0 || v <= w.Factor*med {
		return Alert{}, false
	}
	if k.spiked && step-k.spikeAt < SpikeGap {
		return Alert{}, false // one alert per spike, not one per step of it
	}
	k.spiked, k.spikeAt = true, step
	return Alert{Rule: RuleSpike, Key: key, Step: step, Value: v, Median: med}, true
}
