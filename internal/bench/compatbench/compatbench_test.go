package compatbench

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestRunTensorBoard runs the TensorBoard part at a tiny size so that it
// keeps working; it asserts nothing about speed.
func TestRunTensorBoard(t *testing.T) {
	var out bytes.Buffer
	c := Config{Dir: t.TempDir(), TBPoints: 4000, Out: &out}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"MLflow log_batch: skipped",
		"TensorBoard import: one event file of 4000 scalars",
		"runlog import tensorboard, end to end (import + index)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "end to end") && !slices.Contains(strings.Fields(line), "4000") {
			t.Errorf("the end-to-end import did not take 4000 points: %s", line)
		}
	}
}

// TestLogBatchBody checks that the replayed requests are what the MLflow
// client sends: 10 keys, batch/10 steps.
func TestLogBatchBody(t *testing.T) {
	var body struct {
		RunID   string `json:"run_id"`
		Metrics []struct {
			Key  string  `json:"key"`
			Step int64   `json:"step"`
			V    float64 `json:"value"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(logBatchBody(nil, "r1", 30, 20), &body); err != nil {
		t.Fatal(err)
	}
	if body.RunID != "r1" || len(body.Metrics) != 20 {
		t.Fatalf("run %q, %d metrics; want r1, 20", body.RunID, len(body.Metrics))
	}
	if m := body.Metrics[19]; m.Key != "m9" || m.Step != 31 {
		t.Errorf("last metric %+v, want key m9 at step 31", m)
	}
}
