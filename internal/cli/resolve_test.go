package cli

import (
	"strings"
	"testing"
)

// TestResolveSuggests: a reference that names no run suggests the close
// names and ids, and only close ones.
func TestResolveSuggests(t *testing.T) {
	home := fixtureHome(t)
	for _, tc := range []struct {
		ref, want string
	}{
		{"basline-17m", `did you mean: baseline-17m?`},
		{"resumd", `did you mean: resumed?`},
		{"k3v9x2ac", `did you mean: k3v9x2ab?`},
		{"nothing-like-it", "`runlog ls` lists the runs"},
	} {
		_, _, err := run(t, home, "show", tc.ref)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `no run matches "`+tc.ref+`"`) {
			t.Errorf("show %s: %v; want an error with %q", tc.ref, err, tc.want)
		}
		if err != nil && tc.want == "`runlog ls` lists the runs" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("show %s: %v; suggests runs that are not close", tc.ref, err)
		}
	}
}
