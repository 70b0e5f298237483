package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// LoadConfig reads a JSON config file (none if path is empty) and applies
// overrides of the form key.path=value. A value is typed as JSON reads it —
// 3e-4 and 12 are numbers, true is a bool, [1,2] a list, null null — and
// anything else is a string; key paths create the objects they go through.
func LoadConfig(path string, sets []string) (map[string]any, error) {
	return BuildConfig(nil, path, sets)
}

// BuildConfig is LoadConfig on top of a base config, such as the config of
// a run being resumed: the file's values are merged into it key by key, at
// every depth, and the overrides applied last.
func BuildConfig(base map[string]any, path string, sets []string) (map[string]any, error) {
	cfg := CopyConfig(base)
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var file map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("config %s: not a JSON object: %w", path, err)
		}
		Numbers(file)
		merge(cfg, file)
	}
	for _, s := range sets {
		key, raw, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %q: want key.path=value", s)
		}
		if err := SetKey(cfg, key, typed(raw)); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	return cfg, nil
}

// merge sets the values of src into dst, merging objects found in both.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if have, ok := dst[k].(map[string]any); ok {
				merge(have, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// CopyConfig copies a config, and the objects in it at every depth, so that
// setting keys in the copy leaves m as it is.
func CopyConfig(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = CopyConfig(sub)
		}
		out[k] = v
	}
	return out
}

// typed reads an override value the way a user means it.
func typed(raw string) any {
	raw = strings.TrimSpace(raw)
	var v any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return raw
	}
	return Numbers(v)
}

// Numbers turns the json.Numbers in v (JSON decoded with UseNumber) into
// int64 where they are integers and float64 otherwise, in place at every
// depth, and returns v with them turned.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return number(x)
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
	}
	return v
}

func number(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// SetKey sets a dotted key (a.b.c) in a config, creating the objects it
// goes through; a key that goes through a value that is not an object is
// an error.
func SetKey(m map[string]any, key string, v any) error {
	path := strings.Split(key, ".")
	for i, k := range path {
		if k == "" {
			return fmt.Errorf("empty key in path")
		}
		if i == len(path)-1 {
			m[k] = v
			return nil
		}
		next, ok := m[k].(map[string]any)
		if !ok {
			if _, exists := m[k]; exists {
				return fmt.Errorf("%s is not an object", strings.Join(path[:i+1], "."))
			}
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return nil
}

// totalStepKeys are config keys that give the number of training steps, for
// the ETA of the status line; the first found, at any depth, is used.
var totalStepKeys = []string{"max_steps", "total_steps", "num_steps", "train_steps", "max_iters", "iterations", "steps"}

// TotalSteps finds the number of training steps in a config, or 0.
func TotalSteps(cfg map[string]any) int64 {
	for _, k := range totalStepKeys {
		if n := findInt(cfg, k); n > 0 {
			return n
		}
	}
	return 0
}

func findInt(m map[string]any, key string) int64 {
	switch v := m[key].(type) {
	case int64:
		return v
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	}
	for _, v := range m {
		if sub, ok := v.(map[string]any); ok {
			if n := findInt(sub, key); n > 0 {
				return n
			}
		}
	}
	return 0
}
