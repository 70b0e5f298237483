package summary

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		t    Time
		json string
	}{
		{0, `null`},
		{1764201600, `"2025-11-27T00:00:00.000Z"`},
		{1764201600.25, `"2025-11-27T00:00:00.250Z"`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.t)
		if err != nil || string(got) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", float64(tt.t), got, err, tt.json)
		}
		var back Time
		if err := json.Unmarshal([]byte(tt.json), &back); err != nil || back != tt.t {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tt.json, float64(back), err, float64(tt.t))
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`1764201600`), &bad); err == nil {
		t.Error("a number was taken for a time string")
	}
}

// TestRowBest: a row carries the best value of a loss (the lowest), of a
// validation accuracy (the highest), of a series whose declared goal says
// which, and none for a series without a goal or without a value.
func TestRowBest(t *testing.T) {
	stats := func(vs ...float64) series.Stats {
		var st series.Stats
		for i, v := range vs {
			st.Add(int64(i), int64(i)*1000, v)
		}
		return st
	}
	r := &store.Run{ID: "r", MaxStep: 3}
	ser := []store.Series{
		{Key: "train_loss", Stats: stats(3, 1, 2)},
		{Key: "val/accuracy", Stats: stats(0.5, 0.9, 0.7)},
		{Key: "reward", Goal: runfmt.GoalMaximize, Stats: stats(1, 5, 2)},
		{Key: "tokens_per_sec", Stats: stats(10, 30, 20)},
		{Key: "val_loss", Stats: stats(math.NaN())},
	}
	row := NewRow(r, ser, time.Unix(1764201600, 0))
	want := map[string]runfmt.Float{"train_loss": 1, "val/accuracy": 0.9, "reward": 5}
	if !reflect.DeepEqual(row.Best, want) {
		t.Errorf("best %v, want %v", row.Best, want)
	}
	if row.Metrics["train_loss"] != 2 || len(row.Metrics) != 5 {
		t.Errorf("metrics %v: the final values", row.Metrics)
	}
	b, _ := json.Marshal(NewRow(r, nil, time.Unix(1764201600, 0)))
	if !strings.Contains(string(b), `"best":{}`) {
		t.Errorf("a run without series: %s, want \"best\":{}", b)
	}
}
