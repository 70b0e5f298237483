package analyze

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/store"
)

// This file groups runs by config values (--group-by): a sweep's runs that
// share a learning rate, the members of one `group`. A group is shown as
// one line — the mean over its members with their spread and their count.

// GroupField is the --group-by key that names the run's own group (the
// `group` of runlog.Init, a sweep's name), not a config path; a config key
// of that name is reached as config.group.
const GroupField = "group"

// ParseGroupBy splits --group-by values ("lr,model.d", repeatable) into
// keys, dropping empty ones and repeats.
func ParseGroupBy(in []string) []string {
	var out []string
	for _, s := range in {
		for _, k := range strings.Split(s, ",") {
			if k = strings.TrimSpace(k); k != "" && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// Group is runs that share the values of the group-by keys.
type Group struct {
	// Values are the group's value of each key, as compact JSON (strings
	// quoted); "" where the runs lack the key.
	Values  []string
	Members []int // indices of the runs, in the order given
}

// Label names the group in legends and tables: "lr=0.01, seed=1", or the
// bare value with one key.
func (g Group) Label(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := showValue(g.Values[i])
		if len(keys) == 1 {
			return v
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, ", ")
}

// valueOf returns the value of a group-by key in a run whose flattened
// config is flat.
func valueOf(r *store.Run, flat map[string]string, key string) string {
	if key == GroupField {
		if r.Group == "" {
			return ""
		}
		b, _ := json.Marshal(r.Group)
		return string(b)
	}
	return flat[strings.TrimPrefix(key, "config.")]
}

// GroupRuns groups runs by the values of keys: dotted config paths
// (Flatten), or GroupField for the run's group. Groups are ordered by
// their values, numbers by magnitude, runs lacking a key last.
func GroupRuns(runs []store.Run, keys []string) ([]Group, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("group: no keys")
	}
	var groups []Group
	index := map[string]int{}
	for i := range runs {
		flat, err := Flatten(runs[i].Config)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", runs[i].ID, err)
		}
		vals := make([]string, len(keys))
		for k, key := range keys {
			vals[k] = valueOf(&runs[i], flat, key)
		}
		id := strings.Join(vals, "\x00")
		j, ok := index[id]
		if !ok {
			j = len(groups)
			index[id] = j
			groups = append(groups, Group{Values: vals})
		}
		groups[j].Members = append(groups[j].Members, i)
	}
	sort.SliceStable(groups, func(a, b int) bool {
		for k := range keys {
			if c := compareValues(groups[a].Values[k], groups[b].Values[k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
	for _, key := range keys {
		if key == GroupField {
			continue
		}
		if !slices.ContainsFunc(groups, func(g Group) bool { return g.Values[slices.Index(keys, key)] != "" }) {
			return nil, fmt.Errorf("no run has the config key %q (--group-by takes dotted config paths such as model.d, or %q)", key, GroupField)
		}
	}
	return groups, nil
}

// compareValues orders config values: numbers by magnitude before other
// values, which go in text order, and a missing value last.
func compareValues(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	switch {
	case errA == nil && errB == nil:
		if x < y {
			return -1
		} else if x > y {
			return 1
		}
		return strings.Compare(a, b)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// showValue shows a config value for people, numbers with at most 5
// significant digits (a sweep's 0.04641588833612777 as 0.046416).
func showValue(v string) string {
	if x, ok := Numeric(v); ok {
		return num(x)
	}
	return configValue(v)
}

// Numeric returns the value of a group's key as a number, if it is one.
func Numeric(v string) (float64, bool) {
	x, err := strconv.ParseFloat(v, 64)
	return x, err == nil
}

// VariedKeys returns the config keys, sorted, whose value is not the same
// in every run, and of those the ones whose value is the same within every
// group: the columns a table of the groups shows beside the group-by keys.
// The others (seeds) vary inside some group.
func VariedKeys(runs []store.Run, groups []Group) (columns, within []string, err error) {
	configs := make([]json.RawMessage, len(runs))
	for i, r := range runs {
		configs[i] = r.Config
	}
	diff, err := DiffConfigs(configs, 0)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range diff {
		same := true
		for _, g := range groups {
			for _, m := range g.Members[1:] {
				if d.Values[m] != d.Values[g.Members[0]] {
					same = false
				}
			}
		}
		if same {
			columns = append(columns, d.Key)
		} else {
			within = append(within, d.Key)
		}
	}
	return columns, within, nil
}

// isSeedKey reports whether a config key names a random seed or a repeat:
// keys a report does not group a sweep's runs by.
func isSeedKey(key string) bool {
	last := strings.ToLower(key[strings.LastIndexByte(key, '.')+1:])
	return strings.Contains(last, "seed") || last == "repeat" || last == "trial" || last == "run" || last == "rank"
}

// SweepKeys returns the keys to group the runs of one sweep by when none
// are given: the config keys that vary among them, but for seeds and the
// `sweep` key a sweep's members carry; all varied keys when only seeds
// vary.
func SweepKeys(runs []store.Run) ([]string, error) {
	configs := make([]json.RawMessage, len(runs))
	for i, r := range runs {
		configs[i] = r.Config
	}
	diff, err := DiffConfigs(configs, 0)
	if err != nil {
		return nil, err
	}
	var keys, seeds []string
	for _, d := range diff {
		switch {
		case d.Key == "sweep":
		case isSeedKey(d.Key):
			seeds = append(seeds, d.Key)
		default:
			keys = append(keys, d.Key)
		}
	}
	if len(keys) == 0 {
		return seeds, nil
	}
	return keys, nil
}
