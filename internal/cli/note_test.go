package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/summary"
)

// lsOne returns what `ls --json` says about one run.
func lsOne(t *testing.T, home, id string, args ...string) (r summary.Row, found bool) {
	t.Helper()
	var runs []summary.Row
	if err := json.Unmarshal([]byte(mustRun(t, home, append([]string{"ls", "--json"}, args...)...)), &runs); err != nil {
		t.Fatal(err)
	}
	for _, x := range runs {
		if x.ID == id {
			return x, true
		}
	}
	return summary.Row{}, false
}

func TestTag(t *testing.T) {
	home := fixtureHome(t)
	before, _ := lsOne(t, home, "r7m2q4zz")
	if out := mustRun(t, home, "tag", "resumed", "good", "lr sweep", "good"); out != "resumed  r7m2q4zz  tags good, lr sweep\n" {
		t.Errorf("tag printed %q", out)
	}
	if _, ok := lsOne(t, home, "r7m2q4zz", "--tag", "lr sweep"); !ok {
		t.Error("ls --tag does not find the tagged run")
	}
	if out := mustRun(t, home, "tag", "k3v9x2ab", "--remove", "cs336", "nope"); out != "baseline-17m  k3v9x2ab  tags baseline\n" {
		t.Errorf("tag --remove printed %q", out)
	}
	if _, ok := lsOne(t, home, "k3v9x2ab", "--tag", "cs336"); ok {
		t.Error("ls --tag finds a removed tag")
	}
	if out := mustRun(t, home, "tag", "k3v9"); out != "baseline-17m  k3v9x2ab  tags baseline\n" {
		t.Errorf("tag without tags printed %q", out)
	}

	// Tagging a run long finished does not make it longer.
	after, _ := lsOne(t, home, "r7m2q4zz")
	if after.Wallclock != before.Wallclock || after.Active != before.Active || after.End != before.End {
		t.Errorf("tagging changed the run's times: %+v -> %+v", before, after)
	}
	// The tags are in the run folder: a rebuilt store has them.
	mustRun(t, home, "index", "--rebuild")
	if r, _ := lsOne(t, home, "r7m2q4zz"); strings.Join(r.Tags, ",") != "good,lr sweep" || r.Wallclock != before.Wallclock {
		t.Errorf("after index --rebuild: tags %v, wallclock %v", r.Tags, r.Wallclock)
	}

	for _, args := range [][]string{{"tag", "resumed", ""}, {"tag", "resumed", "a\tb"}, {"tag", "resumed", strings.Repeat("x", 300)}} {
		if _, _, err := run(t, home, args...); !errors.Is(err, runfmt.ErrInvalid) {
			t.Errorf("%q: %v, want an invalid-value error", args, err)
		}
	}
}

func TestNote(t *testing.T) {
	home := fixtureHome(t)
	before, _ := lsOne(t, home, "r7m2q4zz")
	mustRun(t, home, "note", "resumed", "loss spikes at step 450")
	out := mustRun(t, home, "note", "resumed", "  warmup too short?\n")
	if !strings.Contains(out, "notes\n  loss spikes at step 450\n  \n  warmup too short?\n") {
		t.Errorf("note appends a paragraph; printed:\n%s", out)
	}
	mustRun(t, home, "note", "resumed", "--hypothesis", "resuming loses nothing")
	show := mustRun(t, home, "show", "resumed")
	for _, want := range []string{"hypothesis  resuming loses nothing", "notes       loss spikes at step 450"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	// The fixture's own notes are kept and added to.
	if out := mustRun(t, home, "note", "k3v9x2ab", "diverged"); !strings.Contains(out, "  first try\n  \n  diverged\n") {
		t.Errorf("note on a run with notes:\n%s", out)
	}
	if out := mustRun(t, home, "note", "k3v9x2ab", "--replace", "only this"); !strings.Contains(out, "notes\n  only this\n") || strings.Contains(out, "first try") {
		t.Errorf("note --replace:\n%s", out)
	}
	if out := mustRun(t, home, "note", "k3v9x2ab", "--replace"); !strings.Contains(out, "no notes") {
		t.Errorf("note --replace without text:\n%s", out)
	}
	if out := mustRun(t, home, "note", "resumed"); !strings.Contains(out, "hypothesis  resuming loses nothing\nnotes\n") {
		t.Errorf("note without text:\n%s", out)
	}
	if _, _, err := run(t, home, "note", "resumed", "  "); err == nil || !strings.Contains(err.Error(), "empty note") {
		t.Errorf("empty note: %v", err)
	}
	if _, _, err := run(t, home, "note", "resumed", strings.Repeat("x", runfmt.MaxTextLen)); !errors.Is(err, runfmt.ErrInvalid) {
		t.Errorf("notes over the limit: %v", err)
	}
	after, _ := lsOne(t, home, "r7m2q4zz")
	if after.Wallclock != before.Wallclock || after.Active != before.Active || after.Status != "finished" {
		t.Errorf("noting changed the run: %+v -> %+v", before, after)
	}

	// run.cli.log is an attached log: a header, then one record per change.
	recs := readLog(t, filepath.Join(home, "runs", "r7m2q4zz", CLILog))
	if len(recs) != 4 || recs[0].Type != runfmt.TypeHeader || recs[3].Type != runfmt.TypeAnnotate || recs[3].Seq != 4 {
		t.Fatalf("run.cli.log holds %v", recs)
	}
	var h runfmt.Header
	if err := json.Unmarshal(recs[0].Payload, &h); err != nil || h.ID != "r7m2q4zz" || !h.Attach {
		t.Errorf("header %+v, %v", h, err)
	}
	mustRun(t, home, "index", "--rebuild")
	if show := mustRun(t, home, "show", "resumed"); !strings.Contains(show, "warmup too short?") {
		t.Errorf("notes lost by index --rebuild:\n%s", show)
	}
}

// TestAnnotateConcurrently appends from many writers at once: the lock
// keeps every record, each with its own sequence number.
func TestAnnotateConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), CLILog)
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := appendAnnotation(path, "run1", runfmt.Annotate{Time: 1, Note: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	recs := readLog(t, path)
	if len(recs) != n+1 {
		t.Fatalf("%d records, want a header and %d notes", len(recs), n)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has seq %d", i, r.Seq)
		}
	}
	// A torn tail left by a killed writer is cut off before appending.
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append(data, 1, 2, 3), 0o644)
	if err := appendAnnotation(path, "run1", runfmt.Annotate{Time: 2, Note: "after"}); err != nil {
		t.Fatal(err)
	}
	if recs := readLog(t, path); len(recs) != n+2 || recs[n+1].Seq != n+2 {
		t.Errorf("after a torn tail: %d records", len(recs))
	}
}

type logRecord struct {
	Type    runfmt.Type
	Seq     uint64
	Payload []byte
}

func readLog(t *testing.T, path string) []logRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := runfmt.NewReader(bytes.NewReader(data), path)
	var out []logRecord
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logRecord{rec.Type, rec.Seq, append([]byte(nil), rec.Payload...)})
	}
	if len(r.Skipped()) > 0 || r.Torn() > 0 {
		t.Errorf("%s: skipped %v, torn %d", path, r.Skipped(), r.Torn())
	}
	return out
}
