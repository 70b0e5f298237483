package store

import (
	"context"
	"slices"
	"strings"
)

// Closest returns, for a reference that named no run, the names and ids
// of at most three runs it may have meant, the closest first: those within
// a few edits of ref, or sharing a long prefix with it. It returns none
// when no run is close, or when the runs cannot be listed: a suggestion is
// a courtesy on an error already being returned.
func Closest(ctx context.Context, s Store, ref string) []string {
	runs, err := s.Runs(ctx, Filter{Brief: true})
	if err != nil {
		return nil
	}
	candidates := make([]string, 0, 2*len(runs))
	for _, r := range runs {
		candidates = append(candidates, r.Name, r.ID)
	}
	return ClosestNames(ref, candidates, 3)
}

// ClosestNames returns at most n of the names close to ref, ignoring
// case: within max(2, len(ref)/3) edits, or starting with at least
// max(3, len(ref)/2) of its characters. The fewest edits come first, then
// the longest common prefix, then the name.
func ClosestNames(ref string, names []string, n int) []string {
	if ref == "" {
		return nil
	}
	type scored struct {
		name         string
		edits, share int
	}
	lref := []rune(strings.ToLower(ref))
	maxEdits, minShare := max(2, len(lref)/3), max(3, len(lref)/2)
	var close []scored
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		lname := []rune(strings.ToLower(name))
		sc := scored{name: name, edits: editDistance(lref, lname), share: commonPrefix(lref, lname)}
		if sc.edits <= maxEdits || sc.share >= minShare {
			close = append(close, sc)
		}
	}
	slices.SortFunc(close, func(a, b scored) int {
		if a.edits != b.edits {
			return a.edits - b.edits
		}
		if a.share != b.share {
			return b.share - a.share
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, min(n, len(close)))
	for _, sc := range close[:min(n, len(close))] {
		out = append(out, sc.name)
	}
	return out
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b []rune) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
		}
	}
	return row[len(b)]
}

func commonPrefix(a, b []rune) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
