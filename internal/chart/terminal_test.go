package chart

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

func TestTerminal(t *testing.T) {
	st, runs := twoRuns(t)
	ctx := context.Background()
	tests := []struct {
		golden string
		runs   []store.Run
		opt    TermOptions
	}{
		{"terminal_one_run.golden", runs[:1], TermOptions{Width: 80, Height: 8}},
		{"terminal_one_run_color.golden", runs[:1], TermOptions{Width: 80, Height: 6, Color: true, Axes: []series.Axis{series.AxisStep}}},
		{"terminal_two_runs_wide.golden", runs, TermOptions{Width: 140, Height: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, err := Terminal(ctx, st, tt.runs, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if n := visibleLen(line); n > tt.opt.Width {
					t.Errorf("line %d is %d columns wide, more than %d: %q", i, n, tt.opt.Width, line)
				}
			}
			if tt.opt.Color != strings.Contains(out, "\x1b[") {
				t.Errorf("colour %v, but escapes in the output: %v", tt.opt.Color, !tt.opt.Color)
			}
			golden(t, tt.golden, out)
		})
	}
}

func TestTerminalDiverged(t *testing.T) {
	home := t.TempDir()
	trainingRun(t, home, "nanrun01", "diverges", 1764201600, 100, 10, 1, map[int]float64{70: math.NaN(), 71: math.NaN()})
	st, runs := openHome(t, home)
	out, err := Terminal(context.Background(), st, []store.Run{runs["nanrun01"]}, TermOptions{Width: 60})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "✗") || !strings.Contains(out, "train_loss (✗ NaN at step 70)") {
		t.Errorf("the divergence is not marked:\n%s", out)
	}
}

func TestTerminalNoData(t *testing.T) {
	home := t.TempDir()
	var w logWriter
	w.header("accrun01", "acc only", 1764201600)
	w.metrics(0, 1764201601, map[string]float64{"accuracy": 0.5})
	writeRun(t, home, "accrun01", &w)
	st, runs := openHome(t, home)
	if _, err := Terminal(context.Background(), st, []store.Run{runs["accrun01"]}, TermOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no loss: %v, want ErrNoData", err)
	}
	if _, err := Table(context.Background(), st, runs["accrun01"], nil, 10); !errors.Is(err, ErrNoData) {
		t.Errorf("table of no loss: %v, want ErrNoData", err)
	}
	out, err := Terminal(context.Background(), st, []store.Run{runs["accrun01"]}, TermOptions{Keys: []string{"accuracy"}})
	if err != nil || !strings.Contains(out, "accuracy by gradient step") {
		t.Errorf("one point of accuracy: %v\n%s", err, out)
	}
}

func TestTable(t *testing.T) {
	st, runs := twoRuns(t)
	ctx := context.Background()
	sparse, err := Table(ctx, st, runs[0], nil, 10) // validations every 25 steps: 9 rows
	if err != nil {
		t.Fatal(err)
	}
	even, err := Table(ctx, st, runs[0], []string{"train_loss", "learning_rate"}, 5) // spread over 201 steps
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", sparse+"\n"+even)
}
