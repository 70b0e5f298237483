package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Flatten returns the leaves of a JSON object by dotted path: {"model":
// {"d": 64}} gives "model.d". Values are compact, canonical JSON, so that
// 0.01 and 1e-2 compare equal. Arrays and empty objects are leaves. An
// empty or null config has no leaves.
func Flatten(raw json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return out, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if v == nil {
		return out, nil
	}
	flatten("", v, out)
	return out, nil
}

func flatten(prefix string, v any, out map[string]string) {
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		for k, x := range m {
			if prefix != "" {
				k = prefix + "." + k
			}
			flatten(k, x, out)
		}
		return
	}
	b, _ := json.Marshal(v)
	out[prefix] = string(b)
}

// ConfigDiff is a config key whose value is not the same in every run.
type ConfigDiff struct {
	Key string
	// Values holds the key's value in each run as compact JSON; "" where
	// the run's config does not have the key.
	Values []string
}

// DiffConfigs returns the keys, sorted, whose value in some run differs
// from the value in the baseline, configs[base]. A key that only some runs
// have differs.
func DiffConfigs(configs []json.RawMessage, base int) ([]ConfigDiff, error) {
	flat := make([]map[string]string, len(configs))
	keys := map[string]bool{}
	for i, c := range configs {
		f, err := Flatten(c)
		if err != nil {
			return nil, err
		}
		flat[i] = f
		for k := range f {
			keys[k] = true
		}
	}
	var out []ConfigDiff
	for k := range keys {
		bv, bok := flat[base][k]
		differs := false
		for _, f := range flat {
			if v, ok := f[k]; ok != bok || v != bv {
				differs = true
				break
			}
		}
		if !differs {
			continue
		}
		d := ConfigDiff{Key: k, Values: make([]string, len(flat))}
		for i, f := range flat {
			d.Values[i] = f[k]
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// configValue shows a config value for people: strings without their
// quotes, a missing value as "(unset)".
func configValue(v string) string {
	if v == "" {
		return "(unset)"
	}
	var s string
	if v[0] == '"' && json.Unmarshal([]byte(v), &s) == nil && s != "" {
		return s
	}
	return v
}
