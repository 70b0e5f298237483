package tables

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// MediaRecord returns what the media table keeps of e's record: nothing
// for a text, the record as JSON for a file.
func MediaRecord(e store.MediaEntry) (string, error) {
	if e.Kind == runfmt.MediaText {
		return "", nil
	}
	p, err := runfmt.MarshalJSON(e.Media)
	return string(p), err
}

// ReadMedia reads rows of a key's values, seq, step, time, kind, text and
// record in the media order, into the page of key's values that Media
// returns for q (see store.MediaStore): rows hold the values of q's kind
// from q's first step (of one step with q.AtOrBefore, all returned); a
// page ends between steps, and more says rows had values after it.
func ReadMedia(rows Rows, key string, q store.MediaQuery) (out []store.MediaEntry, more bool, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultMediaLimit
	}
	step := q.AtOrBefore != nil
	for rows.Next() {
		var e store.MediaEntry
		var rec string
		if err := rows.Scan(&e.Seq, &e.Step, &e.Time, &e.Kind, &e.Text, &rec); err != nil {
			return nil, false, err
		}
		// A page ends between steps, never inside one.
		if !step && len(out) >= limit && e.Step != out[len(out)-1].Step {
			return out, true, nil
		}
		if rec != "" {
			if err := json.Unmarshal([]byte(rec), &e.Media); err != nil {
				return nil, false, fmt.Errorf("record %d: %w", e.Seq, err)
			}
		}
		e.Key = key
		out = append(out, e)
	}
	return out, false, rows.Err()
}

// PickHistograms returns the positions (0-based, in the media order) of
// the histograms Histograms returns of total with maxSteps (see
// store.MediaStore): nil for all of them, else maxSteps (at least 2)
// spread evenly from the first to the last.
func PickHistograms(total, maxSteps int) []int {
	if maxSteps <= 0 || total <= maxSteps {
		return nil
	}
	n := max(maxSteps, 2)
	pick := make([]int, n)
	for i := range n {
		pick[i] = int(math.Round(float64(i) * float64(total-1) / float64(n-1)))
	}
	return pick
}
