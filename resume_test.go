package runlog_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// TestResumeThatStartedAgain: a program resumed through the Go client
// that logs from step 0 again, instead of continuing, is noticed when the
// run is indexed: an alert says so, and its points supersede the earlier
// attempt's (kept, left out of statistics). One that rewinds to its
// checkpoint and continues is not.
func TestResumeThatStartedAgain(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		resume func(r *runlog.Run)
		steps  []int64
		alerts int
	}{
		{"started again", func(r *runlog.Run) {
			for s := range int64(4) {
				r.LogStep(s, map[string]float64{"train_loss": 9})
			}
		}, []int64{0, 1, 2, 3}, 1},
		{"rewound to its checkpoint", func(r *runlog.Run) {
			r.Rewind(5)
			for range 3 {
				r.Log(map[string]float64{"train_loss": 1}) // steps 6, 7, 8
			}
		}, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			r, err := runlog.Init(runlog.Options{Home: home, ID: "again", DisableGit: true})
			if err != nil {
				t.Fatal(err)
			}
			for s := range int64(10) {
				r.LogStep(s, map[string]float64{"train_loss": float64(10 - s)})
			}
			r.Finish(137)
			r, err = runlog.Init(runlog.Options{Home: home, ID: "again", Resume: "allow", DisableGit: true})
			if err != nil {
				t.Fatal(err)
			}
			tt.resume(r)
			r.Finish(0)

			st := openStore(t, home)
			defer st.Close()
			if _, err := ingest.Home(ctx, st, home, ingest.Options{}); err != nil {
				t.Fatal(err)
			}
			pts, _ := st.Points(ctx, "again", "train_loss", store.PointsOptions{})
			if !slices.Equal(pts.Steps, tt.steps) {
				t.Errorf("train_loss steps %v, want %v", pts.Steps, tt.steps)
			}
			run, _ := st.Run(ctx, "again")
			sum, err := summary.Load(ctx, st, run, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if sum.Alerts != tt.alerts || sum.Metrics["train_loss"].Count != int64(len(tt.steps)) {
				t.Errorf("%d alerts, %d points counted; want %d, %d", sum.Alerts, sum.Metrics["train_loss"].Count, tt.alerts, len(tt.steps))
			}
		})
	}
}
