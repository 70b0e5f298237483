package storebench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunSmall runs every benchmark at a tiny size, so that the benchmark
// keeps working; it asserts nothing about speed.
func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	c := Config{Dir: t.TempDir(), Points: 20_000, Series: 10, LsRuns: 10, Repeat: 1, Out: &out}
	rows, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 {
		t.Fatalf("%d rows, want 9:\n%s", len(rows), out.String())
	}
	if !strings.HasPrefix(out.String(), "| what | result | goal |") {
		t.Errorf("table:\n%s", out.String())
	}
}
