package layout

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"abc12345", true},
		{"Run-1_v2.final", true},
		{"x.", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{".hidden", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{`a\b`, false},
		{"../etc", false},
		{"a b", false},
		{"a\x00b", false},
		{"run\n", false},
		{"é", false},
		{"a:b", false},
	} {
		err := CheckID(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("CheckID(%q) = %v, want ok %v", tc.id, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "invalid run id") {
			t.Errorf("CheckID(%q) error %q does not say what is wrong", tc.id, err)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != IDLen || strings.Trim(id, idAlphabet) != "" {
			t.Fatalf("NewID() = %q, want %d characters of %q", id, IDLen, idAlphabet)
		}
		if err := CheckID(id); err != nil {
			t.Fatalf("NewID() = %q, which CheckID rejects: %v", id, err)
		}
		seen[id] = true
	}
	if len(seen) < 999 { // 36⁸ ids: a repeat in 1000 is a one in five million chance
		t.Errorf("NewID gave %d distinct ids in 1000", len(seen))
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	home := filepath.Join("some", "home")
	for _, tc := range []struct{ got, want string }{
		{RunDir(home, "abc"), filepath.Join("some", "home", "runs", "abc")},
		{RunLog(home, "abc"), filepath.Join("some", "home", "runs", "abc", "run.log")},
		{Store(home), filepath.Join("some", "home", "runlog.db")},
		{filepath.Dir(RunLog(home, "abc")), RunDir(home, "abc")},
		{TrashRunDir(home, "abc"), filepath.Join("some", "home", "trash", "runs", "abc")},
		{TrashInfo(home, "abc"), filepath.Join("some", "home", "trash", "info", "abc.json")},
		// A run whose id ends in .json has its folder apart from the info
		// file of another run.
		{filepath.Dir(TrashRunDir(home, "abc.json")), filepath.Join("some", "home", "trash", "runs")},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestHome is not parallel: it sets RUNLOG_HOME.
func TestHome(t *testing.T) {
	for _, tc := range []struct{ explicit, env, want string }{
		{"flag", "env", "flag"},
		{"", "env", "env"},
		{"", "", DefaultHome},
	} {
		t.Setenv(EnvHome, tc.env)
		if got := Home(tc.explicit); got != tc.want {
			t.Errorf("Home(%q) with %s=%q = %q, want %q", tc.explicit, EnvHome, tc.env, got, tc.want)
		}
	}
}
