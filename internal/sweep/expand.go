package sweep

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/runner"
)

// Member is one run of a sweep: the settings that make it differ and the
// config it runs with.
type Member struct {
	Index   int            `json:"index"`
	Name    string         `json:"name"`              // from what varies: lr=3e-3 seed=1
	Variant string         `json:"variant,omitempty"` // its variant's name
	Args    []Setting      `json:"args"`              // parameters, variant settings and seed, for ${args}
	Config  map[string]any `json:"config"`            // the whole config, sweep key included
}

// MarshalJSON writes a setting as {"key": k, "value": v, "text": t}.
func (s Setting) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
		Text  string `json:"text,omitempty"`
	}{s.Key, s.Value.V, s.Value.Text})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Setting) UnmarshalJSON(b []byte) error {
	var x struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
		Text  string          `json:"text"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	v, err := decodeJSON(x.Value)
	if err != nil {
		return err
	}
	s.Key, s.Value = x.Key, Value{V: v, Text: x.Text}
	return nil
}

// Expand decides the members of a sweep: every variant (or none) × every
// grid combination or random draw × every seed, seeds innermost.
func Expand(s *Spec) ([]*Member, error) {
	combos, err := combinations(s)
	if err != nil {
		return nil, err
	}
	variants := s.Variants
	if len(variants) == 0 {
		variants = []Variant{{}}
	}
	seeds := s.Seeds
	var members []*Member
	for _, v := range variants {
		for _, c := range combos {
			for si := 0; si < max(1, len(seeds)); si++ {
				args := append([]Setting(nil), c...)
				args = append(args, v.Set...)
				if len(seeds) > 0 {
					args = append(args, Setting{Key: s.SeedKey, Value: Value{V: seeds[si], Text: strconv.FormatInt(seeds[si], 10)}})
				}
				members = append(members, &Member{Index: len(members), Variant: v.Name, Args: args})
			}
		}
	}
	names := varying(s)
	for _, m := range members {
		m.Name = memberName(m, names, len(s.Seeds) > 1, s.SeedKey)
		cfg := runner.CopyConfig(s.Config)
		for _, a := range m.Args {
			if err := runner.SetKey(cfg, a.Key, a.Value.V); err != nil {
				return nil, fmt.Errorf("member %d: set %s: %w in the base config", m.Index, a.Key, err)
			}
		}
		cfg["sweep"] = map[string]any{"name": s.Name, "member": int64(m.Index)}
		m.Config = cfg
	}
	return members, nil
}

// combinations returns the parameter settings of the grid, or the random
// draws.
func combinations(s *Spec) ([][]Setting, error) {
	if s.Method == MethodRandom {
		seed := s.RandomSeed
		if seed == 0 {
			h := fnv.New64a()
			h.Write([]byte(s.Name))
			seed = int64(h.Sum64() >> 1)
		}
		rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		out := make([][]Setting, s.Count)
		for i := range out {
			for _, p := range s.Parameters {
				out[i] = append(out[i], Setting{Key: p.Key, Value: draw(&p, rng)})
			}
		}
		return out, nil
	}
	out := [][]Setting{nil}
	for _, p := range s.Parameters {
		var next [][]Setting
		for _, c := range out {
			for _, v := range p.Values {
				next = append(next, append(append([]Setting(nil), c...), Setting{Key: p.Key, Value: v}))
			}
		}
		out = next
		if len(out) > 100_000 {
			return nil, fmt.Errorf("the grid has more than 100,000 combinations: use method random with a count")
		}
	}
	return out, nil
}

// draw picks a value of a parameter at random.
func draw(p *Param, rng *rand.Rand) Value {
	switch p.Dist {
	case DistConstant:
		return p.Values[0]
	case DistCategorical:
		if len(p.Probs) == 0 {
			return p.Values[rng.IntN(len(p.Values))]
		}
		sum := 0.0
		for _, f := range p.Probs {
			sum += f
		}
		x := rng.Float64() * sum
		for i, f := range p.Probs {
			if x -= f; x < 0 {
				return p.Values[i]
			}
		}
		return p.Values[len(p.Values)-1]
	case DistIntUniform:
		lo, hi := int64(p.Min), int64(p.Max)
		n := lo + rng.Int64N(hi-lo+1)
		return Value{V: n, Text: strconv.FormatInt(n, 10)}
	case DistQUniform:
		x := p.Min + rng.Float64()*(p.Max-p.Min)
		x = math.Round(x/p.Q) * p.Q
		return floatValue(x)
	case DistLogUniformValues:
		x := math.Exp(math.Log(p.Min) + rng.Float64()*(math.Log(p.Max)-math.Log(p.Min)))
		return floatValue(x)
	case DistLogUniform:
		return floatValue(math.Exp(p.Min + rng.Float64()*(p.Max-p.Min)))
	}
	return floatValue(p.Min + rng.Float64()*(p.Max-p.Min))
}

// floatValue keeps 4 significant digits: a drawn 0.0031415926 is 3.142e-3,
// in the config as in the member's name.
func floatValue(x float64) Value {
	text := shortFloat(x)
	v, _ := strconv.ParseFloat(text, 64)
	return Value{V: v, Text: text}
}

// shortFloat writes x in 4 significant digits, with an unpadded exponent
// below 0.01: 0.003 is 3e-3, 0.25 is 0.25.
func shortFloat(x float64) string {
	s := strconv.FormatFloat(x, 'g', 4, 64)
	if a := math.Abs(x); a != 0 && a < 1e-2 {
		s = strconv.FormatFloat(x, 'e', 3, 64)
	}
	m, e, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	if strings.Contains(m, ".") {
		m = strings.TrimRight(strings.TrimRight(m, "0"), ".")
	}
	sign := ""
	if e[0] == '-' {
		sign = "-"
	}
	return m + "e" + sign + strings.TrimLeft(e[1:], "0")
}

// varying returns the short name of each key whose value differs between
// members, by key: the last part of a dotted key unless two share it.
func varying(s *Spec) map[string]string {
	keys := []string{}
	for _, p := range s.Parameters {
		if p.Varies() {
			keys = append(keys, p.Key)
		}
	}
	out := map[string]string{}
	last := map[string]int{}
	for _, k := range keys {
		last[k[strings.LastIndex(k, ".")+1:]]++
	}
	for _, k := range keys {
		short := k[strings.LastIndex(k, ".")+1:]
		if last[short] > 1 {
			short = k
		}
		out[k] = short
	}
	return out
}

// memberName names a member by what varies: its parameters, its variant
// and its seed.
func memberName(m *Member, names map[string]string, seeds bool, seedKey string) string {
	var parts []string
	if m.Variant != "" {
		parts = append(parts, m.Variant)
	}
	for _, a := range m.Args {
		if short, ok := names[a.Key]; ok {
			parts = append(parts, short+"="+a.Value.Text)
		}
	}
	if seeds {
		for _, a := range m.Args {
			if a.Key == seedKey {
				parts = append(parts, "seed="+a.Value.Text)
			}
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("member-%d", m.Index)
	}
	return strings.Join(parts, " ")
}

// compact writes a value as compact JSON (strings unquoted), for names
// and comparisons.
func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// decodeJSON decodes a JSON value with integers as int64.
func decodeJSON(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return runner.Numbers(v), nil
}
