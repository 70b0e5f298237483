package manykeysbench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunSmall runs the benchmark at a tiny size against a runlog built
// here, so that it keeps working; it asserts nothing about speed.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds runlog and starts two servers")
	}
	bin := filepath.Join(t.TempDir(), "runlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/runlog/runlog/cmd/runlog")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build runlog: %v\n%s", err, out)
	}
	var out, log bytes.Buffer
	c := Config{Dir: t.TempDir(), Runlog: bin, Runs: 3, Steps: 20, KeysPerStep: 20,
		Clients: 2, Duration: time.Second, Rounds: 3, Repeat: 1, Out: &out, Log: &log}
	rows, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if testing.Verbose() {
		t.Log(log.String())
	}
	table := out.String()
	for _, want := range []string{
		"| what | result | goal | reference (same run) | ratio | note |",
		"| **`runlog index` of the many-keys run, 20 steps × 20 new keys (401 series), whole process** |",
		"| … its peak RSS |",
		"| **GET /api/v1/runs (the web UI's first page), home with the many-keys run** |",
		"| GET /api/v1/runs/{id} of the many-keys run, one client |",
		"| **`runlog ui` peak RSS, 2 clients browsing the many-keys run** |",
		"| **`runlog ls`, home with the many-keys run (whole process)** |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("no %q in:\n%s", want, table)
		}
	}
	for _, p := range pages(manyKey(200)) {
		if want := "| 2 clients browsing the many-keys run: " + p.name + " |"; !strings.Contains(table, want) {
			t.Errorf("no %q in:\n%s", want, table)
		}
	}
	if n, want := strings.Count(table, "\n| "), len(rows)+1; n != want || len(rows) != 11 {
		t.Errorf("%d table lines for %d rows, want %d lines and %d rows:\n%s", n, len(rows), want, 11, table)
	}
	if strings.Contains(table, "failed") {
		t.Errorf("requests failed:\n%s", table)
	}
}

func TestRunNeedsBinary(t *testing.T) {
	for _, bin := range []string{"", filepath.Join(t.TempDir(), "no-such-runlog")} {
		_, err := Run(context.Background(), Config{Runlog: bin, Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "go build -o bin/runlog") {
			t.Errorf("Runlog %q: err = %v, want one that says how to build it", bin, err)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ss []sample
	for i := 1; i <= 20; i++ {
		ss = append(ss, sample{d: time.Duration(i) * time.Millisecond, bytes: 100})
	}
	ss = append(ss, sample{err: context.DeadlineExceeded})
	st := summarize(ss)
	if st.n != 21 || st.errs != 1 || st.med != 11*time.Millisecond || st.p95 != 19*time.Millisecond || st.most != 20*time.Millisecond || st.bytes != 100 {
		t.Errorf("summarize = %+v", st)
	}
	if got := summarize([]sample{{err: context.Canceled}}).String(); got != "all 1 failed" {
		t.Errorf("all failed: %q", got)
	}
}

func TestManyKey(t *testing.T) {
	for i, want := range map[int]string{0: "layer0000/param0000/grad_norm", 1042: "layer0001/param0042/grad_norm", 999_999: "layer0999/param0999/grad_norm"} {
		if got := manyKey(i); got != want {
			t.Errorf("manyKey(%d) = %q, want %q", i, got, want)
		}
	}
}
