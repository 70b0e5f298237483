package postgres

import (
	"context"
	"math"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// TestListedFields lists runs whose fields take the forms a column can
// have — NULL and set exit codes, NaN and infinite times, archived or not,
// no losses — and compares each listing with Run.
func TestListedFields(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	code := -3
	for i, tm := range []float64{1764201600.5, math.Inf(1), math.NaN()} {
		id := string(rune('a' + i))
		b := &store.Batch{RunID: id, Next: store.Cursor{Seq: 1}, Last: 1764201601}
		b.Header = &runfmt.Header{ID: id, Name: "ünï " + id, Project: "p", Tags: []string{"x", id}, Time: tm}
		if i == 1 {
			b.Status = &runfmt.Status{Status: runfmt.StatusFailed, Time: 1764201700, ExitCode: &code}
		}
		if i == 2 {
			yes := true
			b.Annotations = []runfmt.Annotate{{Time: 1, Archived: &yes}}
		}
		if err := db.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []store.Filter{{}, {Brief: true}, {Summary: true}} {
		runs, err := db.Runs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 3 {
			t.Fatalf("%+v: %d runs", f, len(runs))
		}
		for _, r := range runs {
			full, err := db.Run(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			same := r.Name == full.Name && r.Status == full.Status && r.Archived == full.Archived && r.MaxStep == full.MaxStep &&
				math.Float64bits(r.Start) == math.Float64bits(full.Start) && math.Float64bits(r.Last) == math.Float64bits(full.Last)
			if !f.Brief {
				same = same && len(r.Tags) == 2 && (r.ExitCode == nil) == (full.ExitCode == nil) &&
					(r.ExitCode == nil || *r.ExitCode == *full.ExitCode) && r.Segments == full.Segments && string(r.Config) == string(full.Config)
			}
			if f.Summary {
				same = same && string(r.Summary) == string(full.Summary)
			}
			if !same {
				t.Errorf("%+v: listed %+v\nRun gives %+v", f, r, full)
			}
		}
	}
}
