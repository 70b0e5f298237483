package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfs"
)

func TestLogs(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	type answer struct {
		Lines []logLine `json:"lines"`
	}
	run := "/api/v1/runs/" + ids["sweep-a"] + "/logs"
	runScenarios(t, ts.URL, []scenario{
		{name: "default tail", url: run, check: func(t *testing.T, body []byte) {
			a := decode[answer](t, body)
			if len(a.Lines) != 200 {
				t.Fatalf("%d lines", len(a.Lines))
			}
			last := a.Lines[199]
			if last.Stream != "stderr" || last.Time != "2026-01-02T03:04:06.000Z" || last.Text != "<script>alert(1)</script>" {
				t.Errorf("last line %+v", last)
			}
		}, absent: []string{"<script>"}},
		{name: "tail 3", url: run + "?tail=3", check: func(t *testing.T, body []byte) {
			if a := decode[answer](t, body); len(a.Lines) != 3 || a.Lines[0].Text != "line xxxx" {
				t.Errorf("%+v", a.Lines)
			}
		}},
		{name: "more than there are", url: run + "?tail=10000", check: func(t *testing.T, body []byte) {
			if a := decode[answer](t, body); len(a.Lines) != 301 {
				t.Errorf("%d lines", len(a.Lines))
			}
		}},
		{name: "tail too large", url: run + "?tail=10001", status: 400},
		{name: "no training.log", url: "/api/v1/runs/" + fixtureBasic + "/logs", contains: []string{`{"lines":[]}`}},
	})
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "training.log")
	var b strings.Builder
	for i := range 50000 {
		b.WriteString(strings.Repeat("y", i%100))
		b.WriteString("\n")
	}
	b.WriteString("unfinished")
	os.WriteFile(path, []byte(b.String()), 0o644)
	lines, err := tail(dir, "training.log", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 || lines[4] != "unfinished" || lines[3] != strings.Repeat("y", 99) {
		t.Errorf("tail: %q", lines)
	}
	if l := parseLogLine("plain text\twith tab"); l.Text != "plain text\twith tab" || l.Stream != "" {
		t.Errorf("plain line: %+v", l)
	}
}

// TestTailRefusesALinkOut: a training.log that is a link leading out of
// the run folder is not read, as every file of a run folder is opened
// through runfs.
func TestTailRefusesALinkOut(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret\n"), 0o644)
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "training.log")); err != nil {
		t.Skip(err)
	}
	if lines, err := tail(dir, "training.log", 5); !errors.Is(err, runfs.ErrOutside) {
		t.Errorf("tail through a link out = %q, %v; want ErrOutside", lines, err)
	}
}
