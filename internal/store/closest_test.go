package store

import (
	"slices"
	"testing"
)

func TestClosestNames(t *testing.T) {
	names := []string{"sweep-lr1e-3", "sweep-lr2e-3", "sweep-lr4e-3", "baseline-17m", "resumed", "k3v9x2ab", "r7m2q4zz", "Baseline-17m", "resumed"}
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{"sweep-lr1e-2", []string{"sweep-lr1e-3", "sweep-lr2e-3", "sweep-lr4e-3"}}, // at most three
		{"basline-17m", []string{"Baseline-17m", "baseline-17m"}},                  // case ignored, ties by name
		{"resumd", []string{"resumed"}},                                            // once, though two runs share it
		{"sweep", []string{"sweep-lr1e-3", "sweep-lr2e-3", "sweep-lr4e-3"}},        // a common prefix
		{"k3v9x2ac", []string{"k3v9x2ab"}},                                         // ids too
		{"zzz", nil},                                                               // nothing close
		{"tinystories-baseline", nil},
		{"", nil},
	} {
		if got := ClosestNames(tc.ref, names, 3); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("ClosestNames(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"héllo", "hello", 1},
	} {
		if got := editDistance([]rune(tc.a), []rune(tc.b)); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
