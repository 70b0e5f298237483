// Package sweep is `runlog sweep`: a sweep file (docs/sweeps.md) names a
// command, a base config and what varies; the sweep expands it into
// members, each an ordinary `runlog run` run, and runs them in parallel
// slots.
//
// What must stay true:
//   - a member is a run like any other: the runner supervises it, its group
//     is the sweep's name and its config holds `sweep: {name, member}`;
//   - the members are decided once, when the sweep starts, and recorded in
//     the home's sweeps/<name>.json (written whole, through atomicfile):
//     resuming runs those members again, never a new draw;
//   - one process at a time runs a sweep: sweeps/<name>.lock is held with
//     flock while it runs, so a killed runner leaves no stale lock;
//   - a member that fails never stops the others.
package sweep

import (
	"fmt"
	"strings"
)

// Methods a sweep file may name.
const (
	MethodGrid   = "grid"
	MethodRandom = "random"
)

// Distributions of a parameter, as W&B names them.
const (
	DistConstant         = "constant"
	DistCategorical      = "categorical"
	DistUniform          = "uniform"
	DistIntUniform       = "int_uniform"
	DistLogUniformValues = "log_uniform_values"
	DistLogUniform       = "log_uniform" // min and max are natural-log exponents
	DistQUniform         = "q_uniform"
)

// Spec is a parsed sweep file.
type Spec struct {
	Name        string
	Description string
	Project     string
	Program     string   // W&B's program: what ${program} stands for
	Command     []string // with its macros; see Command
	Method      string
	Count       int   // members drawn by random (count or run_cap)
	RandomSeed  int64 // seeds the draws of random
	Metric      *Metric
	Parameters  []Param // in the order of the file
	Variants    []Variant
	Seeds       []int64
	SeedKey     string         // the config key seeds set; "seed" by default
	Config      map[string]any // the base config
	ConfigPath  string         // where it was read from, if from a file
	Early       *EarlyTerminate
}

// Metric is the metric a sweep judges its members by.
type Metric struct {
	Name string `json:"name"`
	Goal string `json:"goal"` // minimize or maximize
}

// Better reports whether a is better than b under the metric's goal.
func (m *Metric) Better(a, b float64) bool {
	if m.Goal == "maximize" {
		return a > b
	}
	return a < b
}

// EarlyTerminate is the early stopping rule of a sweep.
type EarlyTerminate struct {
	Type       string `json:"type"`        // "median"
	MinSteps   int64  `json:"min_steps"`   // no member is stopped before this step
	MinMembers int    `json:"min_members"` // members that must have passed a step to judge it
}

// Param is one parameter of the sweep.
type Param struct {
	Key    string  // a dotted config key: model.norm
	Line   int     // where the file names it
	Dist   string  // one of the Dist constants
	Values []Value // constant and categorical
	Probs  []float64
	Min    float64
	Max    float64
	Q      float64
}

// Varies reports whether the parameter takes more than one value.
func (p *Param) Varies() bool {
	return p.Dist != DistConstant && !(p.Dist == DistCategorical && len(p.Values) == 1)
}

// Value is a value of a parameter, as the file spells it.
type Value struct {
	V    any
	Text string // the file's spelling, for member names: 3e-3 stays 3e-3
}

// Variant is a named set of config changes, for ablations.
type Variant struct {
	Name string
	Line int
	Set  []Setting // in the order of the file
}

// Setting is one config key set to a value.
type Setting struct {
	Key   string
	Value Value
}

// Error is a problem with a sweep file, at a line of it.
type Error struct {
	File string
	Line int // 0 if the problem has no place
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// CheckName reports whether name can name a sweep: it is a file name in
// the home and a run group.
func CheckName(name string) error {
	if name == "" || len(name) > 100 || strings.HasPrefix(name, ".") {
		return fmt.Errorf("sweep name %q: want 1 to 100 letters, digits, '.', '-' or '_', not starting with '.'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("sweep name %q: want letters, digits, '.', '-' or '_'", name)
		}
	}
	return nil
}
