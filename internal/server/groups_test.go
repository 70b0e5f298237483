package server

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/runlog/runlog"
)

type groupsJSON struct {
	X      string   `json:"x"`
	By     []string `json:"by"`
	Band   string   `json:"band"`
	Groups []struct {
		Label           string   `json:"label"`
		N               int      `json:"n"`
		Diverged        int      `json:"diverged"`
		Members         []string `json:"members"`
		DivergedMembers []string `json:"diverged_members"`
		Series          []struct {
			Key         string    `json:"key"`
			Members     int       `json:"members"`
			Diverged    int       `json:"diverged"`
			Total       int       `json:"total"`
			Downsampled bool      `json:"downsampled"`
			X           []float64 `json:"x"`
			Mean        []any     `json:"mean"`
			Lo          []any     `json:"lo"`
			Hi          []any     `json:"hi"`
			N           []int     `json:"n"`
		} `json:"series"`
	} `json:"groups"`
}

// seedGroups makes six runs, two per learning rate, in the groups "a" and
// a hostile one; the second run of lr 0.1 goes NaN at step 150. Every run
// logs train_loss at each of 300 steps: 1/lr + the member's offset.
func seedGroups(t *testing.T) (home string, ids []string) {
	t.Helper()
	home = t.TempDir()
	for i, lr := range []float64{0.1, 0.1, 0.01, 0.01, 0.001, 0.001} {
		group := "a"
		if lr == 0.001 {
			group = "<b>x</b>"
		}
		r, err := runlog.Init(runlog.Options{Home: home, Project: "g", Name: fmt.Sprintf("r%d", i), Group: group,
			Config: map[string]any{"lr": lr}, DisableGit: true, URL: "-"})
		if err != nil {
			t.Fatal(err)
		}
		for step := int64(0); step < 300; step++ {
			v := math.Round(1/lr) + float64(i%2)
			if i == 1 && step >= 150 {
				v = math.NaN()
			}
			r.LogStep(step, map[string]float64{"train_loss": v})
		}
		if err := r.Finish(0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID())
	}
	return home, ids
}

func TestGroups(t *testing.T) {
	home, ids := seedGroups(t)
	_, ts := newTestServer(t, home, Options{})
	all := strings.Join(ids, ",")
	q := func(kv ...string) string {
		v := url.Values{"runs": {all}, "keys": {"train_loss"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "/api/v1/groups?" + v.Encode()
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "by lr: three groups, the NaN member counted", url: q("by", "config.lr"), check: func(t *testing.T, body []byte) {
			a := decode[groupsJSON](t, body)
			if a.X != "step" || a.Band != "std" || len(a.Groups) != 3 {
				t.Fatalf("x %s band %s, %d groups", a.X, a.Band, len(a.Groups))
			}
			for i, want := range []string{"0.001", "0.01", "0.1"} {
				g := a.Groups[i]
				if g.Label != want || g.N != 2 || len(g.Members) != 2 || len(g.Series) != 1 {
					t.Errorf("group %d: %q n %d", i, g.Label, g.N)
				}
			}
			g := a.Groups[2]
			if g.Diverged != 1 || len(g.DivergedMembers) != 1 || g.DivergedMembers[0] != ids[1] {
				t.Errorf("diverged %d %v", g.Diverged, g.DivergedMembers)
			}
			s := g.Series[0]
			if s.Members != 2 || s.Diverged != 1 || s.Total != 300 || s.Downsampled || len(s.X) != 300 {
				t.Fatalf("series %+v", s.Key)
			}
			// Before the NaN, mean 10.5 ± 0.707; after it, the one finite member alone.
			if s.Mean[0] != 10.5 || math.Abs(s.Hi[0].(float64)-10.5-math.Sqrt(0.5)) > 1e-9 || s.N[0] != 2 {
				t.Errorf("at step 0: mean %v hi %v n %d", s.Mean[0], s.Hi[0], s.N[0])
			}
			if s.Mean[200] != 10.0 || s.N[200] != 1 || s.Lo[200] != 10.0 {
				t.Errorf("at step 200: mean %v lo %v n %d", s.Mean[200], s.Lo[200], s.N[200])
			}
			if a.Groups[0].Diverged != 0 || a.Groups[0].Series[0].Mean[0] != 1000.5 {
				t.Errorf("lr 0.001: %+v", a.Groups[0].Series[0].Mean[0])
			}
		}},
		{name: "min-max band", url: q("by", "config.lr", "band", "minmax"), check: func(t *testing.T, body []byte) {
			s := decode[groupsJSON](t, body).Groups[1].Series[0]
			if s.Lo[0] != 100.0 || s.Hi[0] != 101.0 {
				t.Errorf("lo %v hi %v", s.Lo[0], s.Hi[0])
			}
		}},
		{name: "decimated to about the points", url: q("by", "config.lr", "points", "40"), check: func(t *testing.T, body []byte) {
			s := decode[groupsJSON](t, body).Groups[0].Series[0]
			if !s.Downsampled || s.Total != 300 || len(s.X) > 44 || len(s.X) != len(s.Mean) || len(s.X) != len(s.Hi) {
				t.Errorf("downsampled %v, %d of %d", s.Downsampled, len(s.X), s.Total)
			}
		}},
		{name: "on a time axis", url: q("by", "config.lr", "x", "wallclock", "points", "100"), check: func(t *testing.T, body []byte) {
			a := decode[groupsJSON](t, body)
			if a.X != "wallclock" || len(a.Groups) != 3 || len(a.Groups[0].Series[0].X) == 0 {
				t.Errorf("%s, %d groups", a.X, len(a.Groups))
			}
		}},
		{name: "by group: a hostile label is escaped", url: q("by", "group"), contains: []string{`"label":"\u003cb\u003ex\u003c/b\u003e"`}, absent: []string{"<b>"},
			check: func(t *testing.T, body []byte) {
				a := decode[groupsJSON](t, body)
				if len(a.Groups) != 2 || a.Groups[0].Label != "<b>x</b>" || a.Groups[1].N != 4 || a.Groups[1].Diverged != 1 {
					t.Errorf("%d groups", len(a.Groups))
				}
			}},
		{name: "a key none logged comes back empty", url: q("by", "config.lr", "keys", "train_loss,nope"), check: func(t *testing.T, body []byte) {
			s := decode[groupsJSON](t, body).Groups[0].Series[1]
			if s.Key != "nope" || s.Members != 0 || len(s.X) != 0 {
				t.Errorf("%+v", s)
			}
		}},
		{name: "no runs", url: "/api/v1/groups?by=config.lr&keys=train_loss", status: 400, contains: []string{"runs:"}},
		{name: "no by", url: q(), status: 400, contains: []string{"by:"}},
		{name: "no keys", url: q("by", "config.lr", "keys", ""), status: 400, contains: []string{"keys:"}},
		{name: "a config key no run has", url: q("by", "config.nope"), status: 400, contains: []string{"config.nope"}},
		{name: "a bad band", url: q("by", "config.lr", "band", "iqr"), status: 400, contains: []string{"band"}},
		{name: "a bad axis", url: q("by", "config.lr", "x", "epoch"), status: 400},
		{name: "too many keys", url: q("by", "config.lr", "keys", strings.Repeat("k,", maxGroupKeys+1)), status: 400, contains: []string{"at most"}},
		{name: "too many runs", url: "/api/v1/groups?by=lr&keys=a&runs=" + strings.Repeat("x,", maxGroupRuns+1), status: 400, contains: []string{"at most"}},
		{name: "an unknown run", url: q("by", "config.lr", "runs", "no-such-run"), status: 404},
	})
}
