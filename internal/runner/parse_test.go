package runner

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

func TestParseLine(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		line    string
		step    int64
		hasStep bool
		values  map[string]float64
		ok      bool
	}{
		{`{"step": 100, "loss": 2.31, "lr": 0.0003}`, 100, true, map[string]float64{"loss": 2.31, "lr": 0.0003}, true},
		{`{"loss": 2.5, "val": {"loss": 2.7, "ppl": 14.9}, "note": "x"}`, 0, false, map[string]float64{"loss": 2.5, "val/loss": 2.7, "val/ppl": 14.9}, true},
		{`{"global_step": 7, "loss": "NaN", "gnorm": "Infinity"}`, 7, true, map[string]float64{"loss": nan, "gnorm": inf}, true},
		{`step=100 loss=2.31 lr=3e-4`, 100, true, map[string]float64{"loss": 2.31, "lr": 3e-4}, true},
		{`iter: 12, train/loss: 4.5, val_loss: nan`, 12, true, map[string]float64{"train/loss": 4.5, "val_loss": nan}, true},
		{`step 600/800  loss=0.741 tok/s=19520`, 600, true, map[string]float64{"loss": 0.741, "tok/s": 19520}, true},
		{`Epoch 3 step 40: loss=+Inf grad_norm=-inf`, 40, true, map[string]float64{"loss": inf, "grad_norm": math.Inf(-1)}, true},
		{`loss=2.31 lr=3e-4`, 0, false, nil, false}, // no step: not metrics
		{`Loading checkpoint from /tmp/x.pt`, 0, false, nil, false},
		{`{"step": 3, "msg": "hello"}`, 0, false, nil, false}, // a step and nothing else
		{`{broken json`, 0, false, nil, false},
		{`step=-4 loss=1`, 0, false, nil, false},
	}
	for _, tt := range tests {
		step, hasStep, values, ok := parseLine(tt.line)
		if ok != tt.ok || step != tt.step || hasStep != tt.hasStep || len(values) != len(tt.values) {
			t.Errorf("parseLine(%q) = %d %v %v %v, want %d %v %v %v", tt.line, step, hasStep, values, ok, tt.step, tt.hasStep, tt.values, tt.ok)
			continue
		}
		for k, want := range tt.values {
			got, found := values[k]
			if !found || !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("parseLine(%q)[%q] = %v, want %v", tt.line, k, got, want)
			}
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{`{"step": 1, "loss": 2}`, `step=3 loss=nan`, `iter: 4, x: 1e400`, `step 5/10 a=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		step, _, values, ok := parseLine(line)
		if ok && (step < 0 || len(values) == 0) {
			t.Fatalf("parseLine(%q) = step %d, %d values", line, step, len(values))
		}
	})
}

func TestBuildConfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/cfg.json"
	os.WriteFile(path, []byte(`{"model": {"d": 64, "heads": 4}, "lr": 1e-3, "steps": 100}`), 0o644)
	base := map[string]any{"model": map[string]any{"d": 32.0, "layers": 2.0}, "seed": 1.0}
	cfg, err := BuildConfig(base, path, []string{"model.heads=8", "opt.name=adamw", "tags=[1,2]", "flag=true", "note=hello world"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"flag":true,"lr":0.001,"model":{"d":64,"heads":8,"layers":2},"note":"hello world","opt":{"name":"adamw"},"seed":1,"steps":100,"tags":[1,2]}`
	if got, _ := json.Marshal(cfg); string(got) != want {
		t.Errorf("config\n got %s\nwant %s", got, want)
	}
	if base["model"].(map[string]any)["d"] != 32.0 {
		t.Error("BuildConfig changed its base")
	}
	if TotalSteps(cfg) != 100 {
		t.Errorf("total steps %d", TotalSteps(cfg))
	}
	for _, bad := range [][]string{{"novalue"}, {"=3"}, {"lr.x=1"}} {
		if _, err := BuildConfig(base, path, bad); err == nil {
			t.Errorf("--set %v accepted", bad)
		}
	}
}
