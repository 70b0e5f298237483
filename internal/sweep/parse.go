package sweep

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ReadFile reads and parses a sweep file; a base config it names is read
// relative to the file's folder.
func ReadFile(path string) (*Spec, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("sweep file: %w", err)
	}
	s, err := Parse(data, path)
	return s, data, err
}

// Parse parses a sweep file, YAML or JSON (which YAML reads too). path
// names the file in errors and locates a base config given as a path.
// Every problem is an *Error with the line it is on.
func Parse(data []byte, path string) (*Spec, error) {
	p := &parser{file: path, dir: filepath.Dir(path)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: path, Msg: "empty sweep file"}
	}
	s, err := p.spec(doc.Content[0])
	if err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	file string
	dir  string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// topKeys are the keys a sweep file may have: W&B's, then runlog's.
var topKeys = []string{
	"name", "description", "project", "entity", "program", "method", "metric", "parameters",
	"early_terminate", "command", "run_cap",
	"count", "random_seed", "seeds", "seed_key", "variants", "config",
}

// mapping returns the key and value nodes of a mapping, refusing keys
// not in allowed (when given) and repeated keys.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) ([][2]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s: want a mapping", what)
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "%s: keys must be plain words", what)
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			return nil, p.errf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(allowed, ", "))
		}
		if seen[k.Value] {
			return nil, p.errf(k, "%s: key %q given twice", what, k.Value)
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, nil
}

func (p *parser) spec(root *yaml.Node) (*Spec, error) {
	kvs, err := p.mapping(root, "the sweep file", topKeys)
	if err != nil {
		return nil, err
	}
	s := &Spec{Method: MethodGrid, SeedKey: "seed"}
	var methodNode, paramsNode, countNode, earlyNode, cmdNode, seedsNode, variantsNode *yaml.Node
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "name":
			if s.Name, err = p.str(v, "name"); err == nil {
				if e := CheckName(s.Name); e != nil {
					err = p.errf(v, "%v", e)
				}
			}
		case "description":
			s.Description, err = p.str(v, "description")
		case "project":
			s.Project, err = p.str(v, "project")
		case "entity": // W&B's team: runlog has none; accepted so W&B files run
		case "program":
			s.Program, err = p.str(v, "program")
		case "method":
			methodNode = v
			if s.Method, err = p.str(v, "method"); err == nil {
				switch s.Method {
				case MethodGrid, MethodRandom:
				case "bayes":
					err = p.errf(v, "method bayes is not supported by runlog: use grid or random")
				default:
					err = p.errf(v, "method %q: want grid or random", s.Method)
				}
			}
		case "metric":
			s.Metric, err = p.metric(v)
		case "parameters":
			paramsNode = v
			s.Parameters, err = p.params(v, "")
		case "early_terminate":
			earlyNode = v
			s.Early, err = p.early(v)
		case "command":
			cmdNode = v
			s.Command, err = p.command(v)
		case "run_cap", "count":
			countNode = v
			var n int64
			if n, err = p.integer(v, k.Value); err == nil && n <= 0 {
				err = p.errf(v, "%s must be positive", k.Value)
			}
			s.Count = int(n)
		case "random_seed":
			s.RandomSeed, err = p.integer(v, "random_seed")
		case "seeds":
			seedsNode = v
			s.Seeds, err = p.seeds(v)
		case "seed_key":
			s.SeedKey, err = p.key(v, "seed_key")
		case "variants":
			variantsNode = v
			s.Variants, err = p.variants(v)
		case "config":
			s.Config, s.ConfigPath, err = p.config(v)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, p.check(s, root, methodNode, paramsNode, countNode, earlyNode, cmdNode, seedsNode, variantsNode)
}

// check finds what is wrong with the sweep as a whole.
func (p *parser) check(s *Spec, root, method, params, count, early, cmd, seeds, variants *yaml.Node) error {
	if len(s.Command) == 0 && s.Program == "" {
		return p.errf(root, "no command: give command (a list, as in [python, train.py, \"${args}\"]) or program")
	}
	if len(s.Command) == 0 {
		s.Command = []string{"${env}", "${interpreter}", "${program}", "${args}"} // W&B's default
	}
	for _, a := range s.Command {
		if strings.Contains(a, "${program}") && s.Program == "" {
			return p.errf(cmd, "the command uses ${program} but the file names no program")
		}
	}
	if s.Method == MethodGrid {
		for _, pr := range s.Parameters {
			if pr.Dist != DistConstant && pr.Dist != DistCategorical {
				return &Error{File: p.file, Line: pr.Line, Msg: fmt.Sprintf("parameter %s: distribution %s needs method random; a grid takes values", pr.Key, pr.Dist)}
			}
			if len(pr.Probs) > 0 {
				return &Error{File: p.file, Line: pr.Line, Msg: fmt.Sprintf("parameter %s: probabilities need method random", pr.Key)}
			}
		}
		if count != nil {
			return p.errf(count, "count and run_cap are for method random; a grid runs every combination")
		}
	}
	if s.Method == MethodRandom && s.Count == 0 {
		n := method
		if n == nil {
			n = root
		}
		return p.errf(n, "method random needs count (or W&B's run_cap): how many members to draw")
	}
	if s.Early != nil && s.Metric == nil {
		return p.errf(early, "early_terminate needs a metric to judge members by")
	}
	if len(s.Parameters) == 0 && len(s.Variants) == 0 && len(s.Seeds) == 0 {
		n := params
		if n == nil {
			n = root
		}
		return p.errf(n, "nothing varies: give parameters, variants or seeds")
	}
	// A key must be set by one thing only.
	owner := map[string]string{}
	claim := func(key, who string, line int) error {
		for have, by := range owner {
			if have == key || strings.HasPrefix(have, key+".") || strings.HasPrefix(key, have+".") {
				return &Error{File: p.file, Line: line, Msg: fmt.Sprintf("%s sets %s, which %s sets too", who, key, by)}
			}
		}
		owner[key] = who
		return nil
	}
	for _, pr := range s.Parameters {
		if err := claim(pr.Key, "parameter "+pr.Key, pr.Line); err != nil {
			return err
		}
	}
	if len(s.Seeds) > 0 {
		if err := claim(s.SeedKey, "seeds", seeds.Line); err != nil {
			return err
		}
	}
	for _, v := range s.Variants {
		for _, st := range v.Set {
			if by, ok := owner[st.Key]; ok || conflicts(owner, st.Key) {
				if !ok {
					by = "another setting"
				}
				return &Error{File: p.file, Line: v.Line, Msg: fmt.Sprintf("variant %s sets %s, which %s varies too", v.Name, st.Key, by)}
			}
		}
	}
	_ = variants
	return nil
}

func conflicts(owner map[string]string, key string) bool {
	for have := range owner {
		if strings.HasPrefix(have, key+".") || strings.HasPrefix(key, have+".") {
			return true
		}
	}
	return false
}

func (p *parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s: want a string", what)
	}
	return n.Value, nil
}

func (p *parser) key(n *yaml.Node, what string) (string, error) {
	k, err := p.str(n, what)
	if err != nil {
		return "", err
	}
	if err := checkKey(k); err != nil {
		return "", p.errf(n, "%s: %v", what, err)
	}
	return k, nil
}

func checkKey(k string) error {
	if k == "" || slices.Contains(strings.Split(k, "."), "") {
		return fmt.Errorf("config key %q has an empty part", k)
	}
	if k == "sweep" || strings.HasPrefix(k, "sweep.") {
		return fmt.Errorf("config key sweep is runlog's: it records the sweep in each member's config")
	}
	return nil
}

func (p *parser) integer(n *yaml.Node, what string) (int64, error) {
	var i int64
	if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
		return 0, p.errf(n, "%s: want an integer, not %q", what, n.Value)
	}
	return i, nil
}

func (p *parser) number(n *yaml.Node, what string) (float64, error) {
	var f float64
	if n.Kind != yaml.ScalarNode || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, p.errf(n, "%s: want a finite number, not %q", what, n.Value)
	}
	return f, nil
}

// value decodes a node as a config value: JSON-able, integers as int64.
func (p *parser) value(n *yaml.Node) (Value, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return Value{}, p.errf(n, "%v", err)
	}
	v, err := jsonable(v)
	if err != nil {
		return Value{}, p.errf(n, "%v", err)
	}
	text := n.Value
	if n.Kind != yaml.ScalarNode {
		text = compact(v)
	}
	return Value{V: v, Text: text}, nil
}

// jsonable turns what yaml decodes into what encoding/json would: maps
// with string keys, int64 and float64.
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return float64(x), nil
		}
		return int64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a config value (JSON has no NaN or Inf)", x)
		}
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = jsonable(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = jsonable(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case string, bool, nil, int64:
		return x, nil
	}
	return nil, fmt.Errorf("value %v of type %T is not a config value", v, v)
}

func (p *parser) metric(n *yaml.Node) (*Metric, error) {
	kvs, err := p.mapping(n, "metric", []string{"name", "goal", "target"})
	if err != nil {
		return nil, err
	}
	m := &Metric{Goal: "minimize"}
	for _, kv := range kvs {
		switch kv[0].Value {
		case "name":
			m.Name, err = p.str(kv[1], "metric name")
		case "goal":
			if m.Goal, err = p.str(kv[1], "metric goal"); err == nil && m.Goal != "minimize" && m.Goal != "maximize" {
				err = p.errf(kv[1], "metric goal %q: want minimize or maximize", m.Goal)
			}
		case "target": // W&B stops the sweep at a target; runlog runs every member
		}
		if err != nil {
			return nil, err
		}
	}
	if m.Name == "" {
		return nil, p.errf(n, "metric needs a name")
	}
	return m, nil
}

func (p *parser) early(n *yaml.Node) (*EarlyTerminate, error) {
	kvs, err := p.mapping(n, "early_terminate", []string{"type", "min_steps", "min_members", "min_iter", "max_iter", "eta", "s", "strict"})
	if err != nil {
		return nil, err
	}
	e := &EarlyTerminate{MinMembers: 3}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "type":
			if e.Type, err = p.str(v, "early_terminate type"); err == nil && e.Type != "median" {
				if e.Type == "hyperband" {
					err = p.errf(v, "early_terminate type hyperband is not supported by runlog: use type median (the median stopping rule) with min_steps")
				} else {
					err = p.errf(v, "early_terminate type %q: want median", e.Type)
				}
			}
		case "min_steps":
			if e.MinSteps, err = p.integer(v, "min_steps"); err == nil && e.MinSteps < 0 {
				err = p.errf(v, "min_steps must not be negative")
			}
		case "min_members":
			var m int64
			if m, err = p.integer(v, "min_members"); err == nil && m < 1 {
				err = p.errf(v, "min_members must be at least 1")
			}
			e.MinMembers = int(m)
		default:
			err = p.errf(k, "early_terminate: %s is hyperband's; runlog's median rule takes type, min_steps and min_members", k.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	if e.Type == "" {
		return nil, p.errf(n, "early_terminate needs a type: median")
	}
	return e, nil
}

func (p *parser) command(n *yaml.Node) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return nil, p.errf(n, "command: want a list, as in [python, train.py, \"${args}\"]")
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(n, "command: want a list that is not empty")
	}
	var out []string
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode {
			return nil, p.errf(e, "command: each word must be a string")
		}
		if err := checkMacros(e.Value); err != nil {
			return nil, p.errf(e, "command: %v", err)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func (p *parser) seeds(n *yaml.Node) ([]int64, error) {
	if n.Kind == yaml.ScalarNode {
		k, err := p.integer(n, "seeds")
		if err != nil || k <= 0 {
			return nil, p.errf(n, "seeds: want a list of integers, or how many (seeds 0 to N-1)")
		}
		out := make([]int64, k)
		for i := range out {
			out[i] = int64(i)
		}
		return out, nil
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(n, "seeds: want a list of integers that is not empty")
	}
	var out []int64
	for _, e := range n.Content {
		s, err := p.integer(e, "seed")
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, s) {
			return nil, p.errf(e, "seed %d given twice", s)
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *parser) variants(n *yaml.Node) ([]Variant, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(n, "variants: want a list of {name, set} that is not empty")
	}
	var out []Variant
	for _, e := range n.Content {
		kvs, err := p.mapping(e, "a variant", []string{"name", "set"})
		if err != nil {
			return nil, err
		}
		v := Variant{Line: e.Line}
		for _, kv := range kvs {
			switch kv[0].Value {
			case "name":
				v.Name, err = p.str(kv[1], "variant name")
			case "set":
				v.Set, err = p.settings(kv[1], "", nil)
			}
			if err != nil {
				return nil, err
			}
		}
		if v.Name == "" {
			return nil, p.errf(e, "a variant needs a name")
		}
		for _, o := range out {
			if o.Name == v.Name {
				return nil, p.errf(e, "variant %s given twice (line %d)", v.Name, o.Line)
			}
			if sameSettings(o.Set, v.Set) {
				return nil, p.errf(e, "variants %s and %s set the same values", o.Name, v.Name)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func sameSettings(a, b []Setting) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]string{}
	for _, s := range a {
		m[s.Key] = compact(s.Value.V)
	}
	for _, s := range b {
		if v, ok := m[s.Key]; !ok || v != compact(s.Value.V) {
			return false
		}
	}
	return true
}

// settings flattens a mapping of config values into dotted keys.
func (p *parser) settings(n *yaml.Node, prefix string, out []Setting) ([]Setting, error) {
	kvs, err := p.mapping(n, "set", nil)
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		key := prefix + kv[0].Value
		if err := checkKey(key); err != nil {
			return nil, p.errf(kv[0], "%v", err)
		}
		if kv[1].Kind == yaml.MappingNode && len(kv[1].Content) > 0 {
			if out, err = p.settings(kv[1], key+".", out); err != nil {
				return nil, err
			}
			continue
		}
		for _, s := range out {
			if s.Key == key {
				return nil, p.errf(kv[0], "%s set twice", key)
			}
		}
		v, err := p.value(kv[1])
		if err != nil {
			return nil, err
		}
		out = append(out, Setting{Key: key, Value: v})
	}
	return out, nil
}

// config reads the base config: a mapping, or the path of a JSON or YAML
// file relative to the sweep file.
func (p *parser) config(n *yaml.Node) (map[string]any, string, error) {
	if n.Kind == yaml.MappingNode {
		v, err := p.value(n)
		if err != nil {
			return nil, "", err
		}
		return v.V.(map[string]any), "", nil
	}
	path, err := p.str(n, "config")
	if err != nil {
		return nil, "", p.errf(n, "config: want a mapping or the path of a JSON or YAML file")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", p.errf(n, "base config: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, "", p.errf(n, "base config %s: not a JSON or YAML object", path)
	}
	v, err := (&parser{file: path}).value(doc.Content[0])
	if err != nil {
		return nil, "", err
	}
	return v.V.(map[string]any), path, nil
}

// paramKeys are the keys of a parameter: W&B's.
var paramKeys = []string{"value", "values", "distribution", "min", "max", "probabilities", "q", "parameters"}

// params reads W&B's parameters: each key is a config key (dotted for
// nested ones) or holds nested parameters.
func (p *parser) params(n *yaml.Node, prefix string) ([]Param, error) {
	kvs, err := p.mapping(n, "parameters", nil)
	if err != nil {
		return nil, err
	}
	if len(kvs) == 0 && prefix == "" {
		return nil, p.errf(n, "parameters is empty")
	}
	var out []Param
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		key := prefix + k.Value
		if err := checkKey(key); err != nil {
			return nil, p.errf(k, "%v", err)
		}
		pk, err := p.mapping(v, "parameter "+key, paramKeys)
		if err != nil {
			return nil, err
		}
		if len(pk) == 1 && pk[0][0].Value == "parameters" {
			sub, err := p.params(pk[0][1], key+".")
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		pr, err := p.param(key, k, pk)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

func (p *parser) param(key string, at *yaml.Node, kvs [][2]*yaml.Node) (Param, error) {
	pr := Param{Key: key, Line: at.Line}
	var hasMin, hasMax, minInt, maxInt bool
	var distNode, minNode, maxNode, valuesNode *yaml.Node
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		var err error
		switch k.Value {
		case "value":
			var val Value
			if val, err = p.value(v); err == nil {
				pr.Values = []Value{val}
			}
		case "values":
			valuesNode = v
			if v.Kind != yaml.SequenceNode {
				return pr, p.errf(v, "parameter %s: values: want a list", key)
			}
			if len(v.Content) == 0 {
				return pr, p.errf(v, "parameter %s: values is empty", key)
			}
			for _, e := range v.Content {
				val, err := p.value(e)
				if err != nil {
					return pr, err
				}
				for _, have := range pr.Values {
					if compact(have.V) == compact(val.V) {
						return pr, p.errf(e, "parameter %s: value %s given twice", key, val.Text)
					}
				}
				pr.Values = append(pr.Values, val)
			}
		case "distribution":
			distNode = v
			pr.Dist, err = p.str(v, "distribution")
		case "min":
			minNode, hasMin = v, true
			pr.Min, err = p.number(v, "min")
			_, e := strconv.ParseInt(v.Value, 10, 64)
			minInt = e == nil
		case "max":
			maxNode, hasMax = v, true
			pr.Max, err = p.number(v, "max")
			_, e := strconv.ParseInt(v.Value, 10, 64)
			maxInt = e == nil
		case "q":
			if pr.Q, err = p.number(v, "q"); err == nil && pr.Q <= 0 {
				err = p.errf(v, "q must be positive")
			}
		case "probabilities":
			if v.Kind != yaml.SequenceNode {
				return pr, p.errf(v, "probabilities: want a list of numbers")
			}
			for _, e := range v.Content {
				f, err := p.number(e, "probability")
				if err != nil {
					return pr, err
				}
				if f < 0 {
					return pr, p.errf(e, "a probability must not be negative")
				}
				pr.Probs = append(pr.Probs, f)
			}
		case "parameters":
			return pr, p.errf(k, "parameter %s: nested parameters go alone, without value, values or a distribution", key)
		}
		if err != nil {
			return pr, err
		}
	}
	has := func(k string) bool {
		return slices.ContainsFunc(kvs, func(kv [2]*yaml.Node) bool { return kv[0].Value == k })
	}
	if pr.Dist == "" { // W&B infers it
		switch {
		case has("value"):
			pr.Dist = DistConstant
		case has("values"):
			pr.Dist = DistCategorical
		case hasMin && hasMax && minInt && maxInt:
			pr.Dist = DistIntUniform
		case hasMin && hasMax:
			pr.Dist = DistUniform
		default:
			return pr, p.errf(at, "parameter %s: give value, values, or min and max", key)
		}
	}
	n := distNode
	if n == nil {
		n = at
	}
	switch pr.Dist {
	case DistConstant:
		if !has("value") || has("values") || hasMin || hasMax {
			return pr, p.errf(n, "parameter %s: a constant takes value alone", key)
		}
	case DistCategorical:
		if !has("values") || has("value") || hasMin || hasMax {
			return pr, p.errf(n, "parameter %s: a choice takes values alone", key)
		}
		if len(pr.Probs) > 0 {
			if len(pr.Probs) != len(pr.Values) {
				return pr, p.errf(valuesNode, "parameter %s: %d values but %d probabilities", key, len(pr.Values), len(pr.Probs))
			}
			sum := 0.0
			for _, f := range pr.Probs {
				sum += f
			}
			if sum <= 0 {
				return pr, p.errf(valuesNode, "parameter %s: the probabilities add up to 0", key)
			}
		}
	case DistUniform, DistIntUniform, DistLogUniformValues, DistLogUniform, DistQUniform:
		if has("value") || has("values") {
			return pr, p.errf(n, "parameter %s: distribution %s takes min and max, not values", key, pr.Dist)
		}
		if !hasMin || !hasMax {
			return pr, p.errf(n, "parameter %s: distribution %s needs min and max", key, pr.Dist)
		}
		if pr.Min >= pr.Max {
			return pr, p.errf(maxNode, "parameter %s: bad range: min %s is not below max %s", key, minNode.Value, maxNode.Value)
		}
		if pr.Dist == DistIntUniform && (pr.Min != math.Trunc(pr.Min) || pr.Max != math.Trunc(pr.Max)) {
			return pr, p.errf(minNode, "parameter %s: int_uniform needs integer min and max", key)
		}
		if pr.Dist == DistLogUniformValues && pr.Min <= 0 {
			return pr, p.errf(minNode, "parameter %s: bad range: log_uniform_values needs min > 0, not %s", key, minNode.Value)
		}
		if pr.Dist == DistQUniform && pr.Q == 0 {
			pr.Q = 1
		}
	default:
		return pr, p.errf(n, "parameter %s: distribution %q is not supported by runlog (supported: constant, categorical, uniform, int_uniform, q_uniform, log_uniform_values, log_uniform)", key, pr.Dist)
	}
	return pr, nil
}
