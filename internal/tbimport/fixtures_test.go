package tbimport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

// fixtures is testdata/fixtures.json: what make_fixtures.py wrote, as
// TensorBoard's own loader reads it.
type fixtures struct {
	CorruptOffset int64                                      `json:"corrupt_offset"`
	Runs          map[string]map[string][][3]json.RawMessage `json:"runs"`
}

// fixturePoint is one expected point.
type fixturePoint struct {
	Step  int64
	Time  float64
	Value float64
}

func loadFixtures(t testing.TB) fixtures {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixtures
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	return fx
}

// points returns the expected points of a run's tag.
func (fx fixtures) points(t testing.TB, run, tag string) []fixturePoint {
	t.Helper()
	var out []fixturePoint
	for _, p := range fx.Runs[run][tag] {
		var fp fixturePoint
		var v runfmt.Float
		if json.Unmarshal(p[0], &fp.Step) != nil || json.Unmarshal(p[1], &fp.Time) != nil || json.Unmarshal(p[2], &v) != nil {
			t.Fatalf("fixtures.json: bad point %s of %s %s", p, run, tag)
		}
		fp.Value = float64(v)
		out = append(out, fp)
	}
	return out
}
