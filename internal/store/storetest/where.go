package storetest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// whereConfigs are the configs testRunsWhere writes, one run each: every
// kind of value a config comparison must tell apart.
var whereConfigs = []string{
	`{"lr": 0.001}`,
	`{"lr": 1e-4}`,
	`{"lr": 5e-4}`,
	`{"lr": 0.0005000000000000001}`,
	`{"lr": 3}`,
	`{"lr": 0}`,
	`{"lr": -2.5}`,
	`{"lr": 1e-310}`,
	`{"lr": -1e-310}`,
	`{"lr": 1e308}`,
	`{"lr": 9007199254740993}`,
	`{"lr": "NaN"}`,
	`{"lr": "Infinity"}`,
	`{"lr": "-Infinity"}`,
	`{"lr": "0.01"}`,
	`{"lr": true}`,
	`{"lr": null}`,
	`{"lr": [1]}`,
	`{"lr": {}}`,
	`{"lr": {"x": 1}}`,
	`{}`,
	`null`,
	`{"model": {"lr": 2, "d.x": 4, "layers": 12}, "seed": 7}`,
	`{"model.lr": 7, "model": {"layers": 2}}`,
	`{"a": {"b.c": {"d": 1}}, "optimizer": {"betas": {"b1": 0.9}}}`,
	`{"a.b": {"c": {"d": -1}}}`,
	`{"model": "small", "lr": 1e-3}`,
}

// whereConds are the conditions testRunsWhere asks for; Cond.Match says
// which runs each selects.
var whereConds = []store.Cond{
	gt("lr", 5e-4),
	{Op: store.CondGreaterEq, Key: "lr", Value: 5e-4},
	{Op: store.CondLess, Key: "lr", Value: 5e-4},
	{Op: store.CondLessEq, Key: "lr", Value: 0},
	{Op: store.CondGreater, Key: "lr", Value: 0},
	{Op: store.CondLess, Key: "lr", Value: -store.MinCondValue},
	{Op: store.CondGreater, Key: "lr", Value: 9007199254740992},
	{Op: store.CondGreaterEq, Key: "lr", Value: 1e308},
	{Op: store.CondNot, Of: []store.Cond{gt("lr", 5e-4)}},
	{Op: store.CondAnd},
	{Op: store.CondOr},
	{Op: store.CondAnd, Of: []store.Cond{gt("lr", 1e-4), {Op: store.CondLess, Key: "lr", Value: 1}}},
	{Op: store.CondOr, Of: []store.Cond{gt("lr", 1), gt("model.layers", 4), {Op: store.CondNot, Of: []store.Cond{{Op: store.CondLessEq, Key: "seed", Value: 100}}}}},
	gt("model.lr", 1),
	gt("model.d.x", 3),
	{Op: store.CondLess, Key: "a.b.c.d", Value: 2},
	gt("optimizer.betas.b1", 0.5),
	{Op: store.CondNot, Of: []store.Cond{{Op: store.CondOr, Of: []store.Cond{gt("lr", 1e-3), {Op: store.CondLess, Key: "lr", Value: 1e-3}}}}},
}

func gt(key string, v float64) store.Cond {
	return store.Cond{Op: store.CondGreater, Key: key, Value: v}
}

// testRunsWhere checks that a store's Filter.Where selects exactly the
// runs Cond.Match does, in order, paged by Limit and Offset.
func testRunsWhere(t *testing.T, s store.Store) {
	runs := make([]string, len(whereConfigs))
	for i, cfg := range whereConfigs {
		runs[i] = fmt.Sprintf("w%02d", i)
		w := newWriter(t, s, runs[i])
		w.write(func(b *store.Batch) {
			b.Header = &runfmt.Header{Format: 1, ID: runs[i], Name: "run", Project: "p", Time: T0 + float64(i)}
			b.Config = json.RawMessage(cfg)
			b.Last = T0 + float64(i)
		})
	}
	newest := func(keep func(i int) bool) []string {
		var out []string
		for i := len(runs) - 1; i >= 0; i-- {
			if keep(i) {
				out = append(out, runs[i])
			}
		}
		return out
	}
	ids := func(f store.Filter) []string {
		t.Helper()
		got, err := s.Runs(ctx, f)
		if err != nil {
			t.Fatalf("Runs(%+v): %v", f, err)
		}
		var out []string
		for _, r := range got {
			out = append(out, r.ID)
		}
		return out
	}
	// The reference itself, on the rows a person checks by eye.
	if got, want := newest(func(i int) bool { return whereConds[0].Match(json.RawMessage(whereConfigs[i])) }),
		[]string{"w26", "w12", "w11", "w10", "w09", "w04", "w03", "w00"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Cond.Match of lr > 5e-4 keeps %v, want %v", got, want)
	}
	for _, c := range whereConds {
		want := newest(func(i int) bool { return c.Match(json.RawMessage(whereConfigs[i])) })
		for _, brief := range []bool{false, true} {
			if got := ids(store.Filter{Where: &c, Brief: brief}); !reflect.DeepEqual(got, want) {
				t.Errorf("Runs(Where %+v, Brief %v) = %v, want %v (Cond.Match)", c, brief, got, want)
			}
		}
		for _, page := range []struct{ limit, offset int }{{3, 0}, {3, 2}, {0, 4}, {100, 0}} {
			w := want[min(page.offset, len(want)):]
			if page.limit > 0 {
				w = w[:min(page.limit, len(w))]
			}
			if len(w) == 0 {
				w = nil
			}
			if got := ids(store.Filter{Where: &c, Limit: page.limit, Offset: page.offset}); !reflect.DeepEqual(got, w) {
				t.Errorf("Runs(Where %+v, Limit %d, Offset %d) = %v, want %v", c, page.limit, page.offset, got, w)
			}
		}
	}
	// Conditions drawn at random from the keys and values above, nested
	// three deep: the store and Cond.Match agree on every one.
	rng := rand.New(rand.NewPCG(17, 5))
	for range 200 {
		c := randomCond(rng, 3)
		want := newest(func(i int) bool { return c.Match(json.RawMessage(whereConfigs[i])) })
		if got := ids(store.Filter{Where: &c}); !reflect.DeepEqual(got, want) {
			t.Errorf("Runs(Where %+v) = %v, want %v (Cond.Match)", c, got, want)
		}
	}
	if got, want := ids(store.Filter{Offset: len(runs) - 2}), []string{"w01", "w00"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Runs(Offset %d) = %v, want %v", len(runs)-2, got, want)
	}
	for _, bad := range []store.Cond{
		{Op: store.CondGreater, Key: "lr", Value: math.NaN()},
		{Op: store.CondGreater, Key: "lr", Value: math.Inf(1)},
		{Op: store.CondGreater, Key: "lr", Value: 1e-310},
		{Op: store.CondGreater, Key: `l"r`},
		{Op: store.CondGreater, Key: "a.b.c.d.e.f"},
		{Op: store.CondNot},
	} {
		if _, err := s.Runs(ctx, store.Filter{Where: &bad}); err == nil {
			t.Errorf("Runs(Where %+v) took a condition Cond.Check refuses", bad)
		}
	}
}

// randomCond draws a condition on whereConfigs' keys, at most depth deep.
func randomCond(rng *rand.Rand, depth int) store.Cond {
	if depth > 0 && rng.IntN(3) > 0 {
		op := []store.CondOp{store.CondAnd, store.CondOr, store.CondNot}[rng.IntN(3)]
		n := 1
		if op != store.CondNot {
			n = rng.IntN(4)
		}
		c := store.Cond{Op: op}
		for range n {
			c.Of = append(c.Of, randomCond(rng, depth-1))
		}
		return c
	}
	keys := []string{"lr", "model.lr", "model.layers", "model.d.x", "seed", "a.b.c.d", "optimizer.betas.b1", "missing", "model"}
	values := []float64{0, 5e-4, 1e-3, -1, 1, 3, 7, 1e308, -1e308, store.MinCondValue, 9007199254740992}
	return store.Cond{Op: store.CondOp(int(store.CondLess) + rng.IntN(4)), Key: keys[rng.IntN(len(keys))], Value: values[rng.IntN(len(values))]}
}
