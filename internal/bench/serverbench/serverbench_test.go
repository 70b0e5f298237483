package serverbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunSmall runs the benchmark at a tiny size so that it keeps working;
// it asserts nothing about speed.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the server to index, a second per run")
	}
	var out bytes.Buffer
	c := Config{Dir: t.TempDir(), Points: 5000, Width: 200, IngestPoints: 20_000, Series: 2, Clients: 2, Runs: 5, Repeat: 1, Out: &out}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	if n := strings.Count(table, "\n| "); n != 15 {
		t.Errorf("%d table lines, want 15 (header and 14 rows):\n%s", n, table)
	}
	if !strings.Contains(table, "| **remote ingest, Go client streaming 20 k points (2 series) to the server** |") {
		t.Errorf("no remote ingest row in:\n%s", table)
	}
}
