package ingest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
)

// TestRenameAndArchive indexes a run.cli.log that renames and archives a
// run, with a name a reader must refuse in between: the rest of that record
// applies, and a rebuilt store says the same.
func TestRenameAndArchive(t *testing.T) {
	home := homeWith(t, "run", fixture(t, "basic"))
	yes := true
	l := runfmttest.New(runfmt.Header{ID: "run", Attach: true, Time: 1764300000, Writer: "test"})
	l.JSON(runfmt.TypeAnnotate, runfmt.Annotate{Time: 1764300001, Name: "renamed"})
	l.JSON(runfmt.TypeAnnotate, runfmt.Annotate{Time: 1764300002, Name: "bad\nname", Archived: &yes, AddTags: []string{"old"}})
	l.WriteFile(t, filepath.Join(home, "runs", "run", "run.cli.log"))
	st := openStore(t, home)
	var warnings []string
	warn := func(err error) { warnings = append(warnings, err.Error()) }
	for _, opt := range []ingest.Options{{Warn: warn}, {Warn: warn, Rebuild: true}} {
		warnings = nil
		if _, err := ingest.Home(ctx, st, home, opt); err != nil {
			t.Fatal(err)
		}
		r, err := st.Run(ctx, "run")
		if err != nil {
			t.Fatal(err)
		}
		if r.Name != "renamed" || !r.Archived || !strings.Contains(strings.Join(r.Tags, ","), "old") {
			t.Errorf("rebuild %v: name %q, archived %v, tags %v", opt.Rebuild, r.Name, r.Archived, r.Tags)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "control character") {
			t.Errorf("rebuild %v: warnings %q, want one about the bad name", opt.Rebuild, warnings)
		}
	}
}
