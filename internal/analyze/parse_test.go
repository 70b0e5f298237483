package analyze

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		err  string
	}{
		{"val_loss=2.0", Target{Key: "val_loss", Value: 2}, ""},
		{"val/loss = 1.5", Target{Key: "val/loss", Value: 1.5}, ""},
		{"eval/acc>=0.9", Target{Key: "eval/acc", Value: 0.9, Goal: runfmt.GoalMaximize}, ""},
		{"grad_norm<=1e-3", Target{Key: "grad_norm", Value: 1e-3, Goal: runfmt.GoalMinimize}, ""},
		{"a=b=3", Target{Key: "a=b", Value: 3}, ""},
		{"val_loss", Target{}, "write KEY=VALUE"},
		{"val_loss=", Target{}, "write KEY=VALUE"},
		{"=2", Target{}, "write KEY=VALUE"},
		{"val_loss=low", Target{}, `"low" is not a number`},
		{"val_loss=NaN", Target{}, "is not a number"},
		{"<=2", Target{}, "no metric key"},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTarget(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestGoal(t *testing.T) {
	tests := []struct{ key, declared, want string }{
		{"val_loss", "", runfmt.GoalMinimize},
		{"train_loss", "", runfmt.GoalMinimize},
		{"loss", "", runfmt.GoalMinimize},
		{"train/perplexity", "", runfmt.GoalMinimize},
		{"eval/accuracy", "", runfmt.GoalMaximize},
		{"train_acc", "", runfmt.GoalMaximize},
		{"reward", "", runfmt.GoalMaximize},
		{"grad_norm", "", ""},
		{"learning_rate", "", ""},
		{"tokens_per_sec", "", ""},
		{"tokens_per_sec", runfmt.GoalMaximize, runfmt.GoalMaximize},
		{"train_loss", runfmt.GoalMaximize, runfmt.GoalMaximize},
	}
	for _, tt := range tests {
		if got := Goal(tt.key, tt.declared); got != tt.want {
			t.Errorf("Goal(%q, %q) = %q, want %q", tt.key, tt.declared, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"30m", 1800, true}, {"90s", 90, true}, {"1h30m", 5400, true}, {"45", 45, true}, {"2.5", 2.5, true},
		{"-5", 0, false}, {"soon", 0, false}, {"-1m", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestDiffConfigs(t *testing.T) {
	configs := []json.RawMessage{
		json.RawMessage(`{"lr": 0.01, "model": {"d": 64, "act": "gelu"}, "tags": [1, 2], "seed": 1}`),
		json.RawMessage(`{"lr": 1e-2, "model": {"d": 128, "act": "gelu"}, "tags": [1, 3], "extra": null, "seed": 1}`),
		json.RawMessage(`{"lr": 0.003, "model": {"d": 64}, "tags": [1, 2], "seed": 1}`),
		nil,
	}
	got, err := DiffConfigs(configs, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []ConfigDiff{
		{"extra", []string{"", "null", "", ""}},
		{"lr", []string{"0.01", "0.01", "0.003", ""}},
		{"model.act", []string{`"gelu"`, `"gelu"`, "", ""}},
		{"model.d", []string{"64", "128", "64", ""}},
		{"seed", []string{"1", "1", "1", ""}},
		{"tags", []string{"[1,2]", "[1,3]", "[1,2]", ""}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffConfigs =\n%v\nwant\n%v", got, want)
	}
	same, _ := DiffConfigs(configs[:1], 0)
	if len(same) != 0 {
		t.Errorf("a config differs from itself: %v", same)
	}
	if _, err := DiffConfigs([]json.RawMessage{json.RawMessage(`{`)}, 0); err == nil {
		t.Error("bad JSON: no error")
	}
	for in, want := range map[string]string{`"adamw"`: "adamw", `""`: `""`, "": "(unset)", "0.5": "0.5", "[1,2]": "[1,2]"} {
		if got := configValue(in); got != want {
			t.Errorf("configValue(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	for ratio, want := range map[float64]string{2.31: "2.3× faster", 1.02: "same", 0.5: "2.0× slower", 0: "-"} {
		if got := speedup(ratio); got != want {
			t.Errorf("speedup(%v) = %q, want %q", ratio, got, want)
		}
	}
	for v, want := range map[float64]string{12034.4: "12,034", 1234567: "1,234,567", 999: "999", 12.5: "12.5"} {
		if got := rate(v); got != want {
			t.Errorf("rate(%v) = %q, want %q", v, got, want)
		}
	}
	if got := wrap("aaa bbb ccc ddd", 7); got != "aaa bbb\nccc ddd\n" {
		t.Errorf("wrap = %q", got)
	}
	for in, want := range map[string]string{"plain-arg": "plain-arg", "two words": "'two words'", "it's": `'it'\''s'`, "": "''"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
