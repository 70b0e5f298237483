package server

import "testing"

// TestGetRunSuggests: the 404 of a run reference that names no run
// suggests the close names.
func TestGetRunSuggests(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	runScenarios(t, ts.URL, []scenario{
		{name: "a typo", url: "/api/v1/runs/swep-a", status: 404, contains: []string{`no run matches \"swep-a\"`, "did you mean: sweep-a?"}},
		{name: "an id a character off", url: "/api/v1/runs/k3v9x2ac", status: 404, contains: []string{"did you mean: k3v9x2ab?"}},
		{name: "nothing close", url: "/api/v1/runs/nothing-like-it", status: 404, absent: []string{"did you mean"}},
	})
}
