package server

import (
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
)

// TestListRunsArchived: the list of runs leaves archived runs out unless
// asked for them, as runlog ls does.
func TestListRunsArchived(t *testing.T) {
	home, _ := seedHome(t)
	yes := true
	runfmttest.New(runfmt.Header{Format: 1, ID: fixtureBasic, Attach: true, Time: 1764300000, Writer: "test"}).
		JSON(runfmt.TypeAnnotate, runfmt.Annotate{Time: 1764300001, Archived: &yes}).
		WriteFile(t, filepath.Join(home, "runs", fixtureBasic, "run.cli.log"))
	_, ts := newTestServer(t, home, Options{})
	total := func(want int) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			if a := decode[runsAnswer](t, body); a.Total != want {
				t.Errorf("total %d (%s), want %d", a.Total, names(a), want)
			}
		}
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "default", url: "/api/v1/runs", check: total(3), absent: []string{fixtureBasic}},
		{name: "false", url: "/api/v1/runs?archived=false", check: total(3), absent: []string{fixtureBasic}},
		{name: "only archived", url: "/api/v1/runs?archived=true", check: total(1), contains: []string{fixtureBasic}},
		{name: "all", url: "/api/v1/runs?archived=all", check: total(4), contains: []string{fixtureBasic}},
		{name: "bad value", url: "/api/v1/runs?archived=maybe", status: 400},
	})
}
