package sweep

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFixtures(t *testing.T) {
	s, _, err := ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "lm-ablation" || s.Method != MethodGrid || s.Metric.Name != "val_loss" || s.Early.MinSteps != 100 || s.Early.MinMembers != 3 {
		t.Errorf("spec = %+v", s)
	}
	ms, err := Expand(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2*2*2 {
		t.Fatalf("%d members, want 8", len(ms))
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	want := []string{"baseline lr=1e-3 seed=0", "baseline lr=1e-3 seed=1", "baseline lr=3e-3 seed=0", "baseline lr=3e-3 seed=1",
		"no-rmsnorm lr=1e-3 seed=0", "no-rmsnorm lr=1e-3 seed=1", "no-rmsnorm lr=3e-3 seed=0", "no-rmsnorm lr=3e-3 seed=1"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names = %q", names)
	}
	m := ms[5]
	wantCfg := map[string]any{
		"model": map[string]any{"norm": "none", "layers": int64(4)}, "optim": map[string]any{"lr": 0.001},
		"max_steps": int64(500), "batch_size": int64(32), "seed": int64(1),
		"sweep": map[string]any{"name": "lm-ablation", "member": int64(5)},
	}
	if !reflect.DeepEqual(m.Config, wantCfg) {
		t.Errorf("config = %#v", m.Config)
	}
	cmd := Command(s.Command, s.Program, m, Files{})
	if got := strings.Join(cmd[2:], " "); got != "train.py --optim.lr=1e-3 --batch_size=32 --model.norm=none --seed=1" {
		t.Errorf("command = %q", cmd)
	}

	w, _, err := ReadFile("testdata/wandb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ms, err = Expand(w)
	if err != nil || len(ms) != 5 {
		t.Fatalf("wandb: %d members, %v", len(ms), err)
	}
	again, _ := Expand(w)
	for i, m := range ms {
		lr := m.Config["learning_rate"].(float64)
		layers := m.Config["layers"].(int64)
		if lr < 1e-4 || lr > 0.1 || layers < 2 || layers > 8 || m.Config["epochs"] != int64(3) {
			t.Errorf("member %d: %v", i, m.Config)
		}
		if !reflect.DeepEqual(m.Config, again[i].Config) {
			t.Errorf("member %d drawn differently twice", i)
		}
	}

	j, _, err := ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := Expand(j); len(ms) != 4 || ms[3].Name != "lr=0.01 seed=1" {
		t.Errorf("json: %d members, last %q", len(ms), ms[len(ms)-1].Name)
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, file string
		line       int
		msg        string
	}{
		{"unknown key", "command: [x]\nparamters:\n  lr: {values: [1]}\n", 2, `unknown key "paramters"`},
		{"unknown parameter key", "command: [x]\nparameters:\n  lr: {vals: [1]}\n", 3, `unknown key "vals"`},
		{"empty grid", "command: [x]\nparameters:\n  lr:\n    values: []\n", 4, "values is empty"},
		{"empty parameters", "command: [x]\nparameters: {}\n", 2, "parameters is empty"},
		{"bad range", "command: [x]\nmethod: random\ncount: 2\nparameters:\n  lr:\n    distribution: uniform\n    min: 1\n    max: 0.5\n", 8, "bad range"},
		{"log range", "command: [x]\nmethod: random\ncount: 2\nparameters:\n  lr: {distribution: log_uniform_values, min: 0, max: 1}\n", 5, "needs min > 0"},
		{"missing base config", "command: [x]\nconfig: nowhere.json\nseeds: [1]\n", 2, "base config"},
		{"grid distribution", "command: [x]\nparameters:\n  lr: {distribution: uniform, min: 0, max: 1}\n", 3, "needs method random"},
		{"random without count", "command: [x]\nmethod: random\nparameters:\n  lr: {values: [1, 2]}\n", 2, "needs count"},
		{"bayes", "command: [x]\nmethod: bayes\n", 2, "not supported"},
		{"duplicate variant", "command: [x]\nvariants:\n  - {name: a, set: {x: 1}}\n  - {name: a, set: {x: 2}}\n", 4, "given twice"},
		{"same variants", "command: [x]\nvariants:\n  - {name: a, set: {x: 1}}\n  - {name: b, set: {x: 1}}\n", 4, "set the same values"},
		{"variant against parameter", "command: [x]\nparameters:\n  model.norm: {values: [a, b]}\nvariants:\n  - name: v\n    set: {model: {norm: none}}\n", 5, "varies too"},
		{"unknown macro", "command: [x, \"${argz}\"]\nseeds: 2\n", 1, "unknown macro"},
		{"args inside a word", "command: [x, \"a${args}\"]\nseeds: 2\n", 1, "word of its own"},
		{"no command", "seeds: 2\n", 1, "no command"},
		{"nothing varies", "command: [x]\n", 1, "nothing varies"},
		{"sweep key", "command: [x]\nparameters:\n  sweep.x: {values: [1]}\n", 3, "runlog's"},
		{"hyperband", "command: [x]\nmetric: {name: l}\nearly_terminate: {type: hyperband, min_iter: 3}\nseeds: 2\n", 3, "hyperband"},
		{"early without metric", "command: [x]\nearly_terminate: {type: median}\nseeds: 2\n", 2, "needs a metric"},
		{"duplicate value", "command: [x]\nparameters:\n  lr: {values: [1, 1]}\n", 3, "given twice"},
		{"bad yaml", "command: [x\n", 0, "did not find"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".yaml")
			_, err := Parse([]byte(c.file), path)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.Line != c.line || !strings.Contains(e.Msg, c.msg) {
				t.Errorf("err = %v, want line %d and %q", err, c.line, c.msg)
			}
		})
	}
}

func TestShortFloat(t *testing.T) {
	for x, want := range map[float64]string{0.003: "3e-3", 0.25: "0.25", 3.14159e-4: "3.142e-4", 12: "12", 1e6: "1e6", 0: "0"} {
		if got := shortFloat(x); got != want {
			t.Errorf("shortFloat(%v) = %q, want %q", x, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/full.yaml", "testdata/wandb.yaml", "testdata/full.json"} {
		if s, data, err := ReadFile(p); err == nil && s != nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		if s.Method == MethodRandom && s.Count > 1000 {
			return
		}
		Expand(s) // must not panic
	})
}
