package chartbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunSmall runs the benchmark at a tiny size, without the
// whole-process rows, so that it keeps working; it asserts nothing about
// speed.
func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	c := Config{Dir: t.TempDir(), Runs: 2, Points: 5000, Repeat: 1, Out: &out}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| what | median | note |", "| encode the PNG |", "2 runs × 5 k train_loss points"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}
