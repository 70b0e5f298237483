package objstorebench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/objstore/weedtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	weedtest.StopShared()
	os.Exit(code)
}

// TestRunSmall runs the benchmark at a tiny size so that it keeps working;
// it asserts nothing about speed.
func TestRunSmall(t *testing.T) {
	endpoint := weedtest.Endpoint(t)
	var out bytes.Buffer
	c := Config{Dir: t.TempDir(), Endpoint: endpoint, Size: 11 << 20, PartSize: 5 << 20, Repeat: 1, Out: &out}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	if n := strings.Count(table, "\n| "); n != 7 {
		t.Errorf("%d table lines, want 7 (header and 6 rows):\n%s", n, table)
	}
	if !strings.Contains(table, "| **the 11 MiB checkpoint uploaded through the runlog server to S3**") {
		t.Errorf("no row through the server in:\n%s", table)
	}
	if !strings.Contains(table, "| **Put of the 11 MiB checkpoint to S3** (hash, parts in parallel, manifest) |") {
		t.Errorf("no Put row in:\n%s", table)
	}
}
