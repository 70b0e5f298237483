package server

import (
	"testing"
)

// TestSeriesResumes: on the wallclock and time axes the series of a
// resumed run say where it resumed, for the UI to break its lines there;
// on the step and active axes they do not.
func TestSeriesResumes(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	type answer struct {
		Series []struct {
			X       []float64 `json:"x"`
			Resumes []float64 `json:"resumes"`
		} `json:"series"`
	}
	for _, tt := range []struct {
		run, axis string
		resumes   int
	}{
		{ids["resume"], "wallclock", 1}, {ids["resume"], "time", 1},
		{ids["resume"], "step", 0}, {ids["resume"], "active", 0},
		{ids["baseline-17m"], "wallclock", 0},
	} {
		body := do(t, ts.URL, scenario{url: "/api/v1/runs/" + tt.run + "/series?keys=train_loss&points=0&x=" + tt.axis})
		s := decode[answer](t, body).Series[0]
		if len(s.Resumes) != tt.resumes {
			t.Errorf("%s on %s: resumes %v, want %d", tt.run, tt.axis, s.Resumes, tt.resumes)
			continue
		}
		if tt.resumes == 1 {
			// between the points logged before the resume and those after
			before, after := 0, 0
			for _, x := range s.X {
				if x < s.Resumes[0] {
					before++
				} else {
					after++
				}
			}
			if before == 0 || after == 0 {
				t.Errorf("%s: resume at %v, points at %v", tt.axis, s.Resumes[0], s.X)
			}
		}
	}
}
