package tables

import (
	"encoding/json"
	"strconv"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// FilterSQL is a store's SQL of the conditions a store.Filter puts on the
// runs table r. Tag and Name get the name of their parameter; Where writes
// a checked store.Cond.
type FilterSQL struct {
	Tag, Name                 func(param string) string
	Where                     func(store.Cond) string
	NotArchived, OnlyArchived string
}

// Conds returns the conditions of f, to be joined with AND; arg adds a
// parameter and returns its name, in the order the conditions use them.
func (s FilterSQL) Conds(f store.Filter, arg func(any) string) ([]string, error) {
	var where []string
	if f.Project != "" {
		where = append(where, "r.project = "+arg(f.Project))
	}
	if f.Status != "" {
		where = append(where, "r.status = "+arg(f.Status))
	}
	if f.Tag != "" {
		where = append(where, s.Tag(arg(f.Tag)))
	}
	if f.Name != "" {
		where = append(where, s.Name(arg(f.Name)))
	}
	if f.Where != nil {
		if err := f.Where.Check(); err != nil {
			return nil, err
		}
		where = append(where, s.Where(*f.Where))
	}
	switch f.Archived {
	case store.NotArchived:
		where = append(where, s.NotArchived)
	case store.OnlyArchived:
		where = append(where, s.OnlyArchived)
	}
	return where, nil
}

// ListScan returns the columns a listing of runs with f reads and how a
// row of them is scanned.
func ListScan(f store.Filter) (cols string, scan func(Scanner) (store.Run, error)) {
	switch {
	case f.Brief:
		return BriefColumns, ScanBrief
	case f.Summary:
		return ListColumns + ", r.summary", ScanListedSummary
	}
	return ListColumns, ScanListed
}

// EncodeKeyIDs encodes the key ids a batch defined as a row of a stream's
// key maps (see ReadKeyIDs): the rows are merged in order, so a later
// definition of an id wins.
func EncodeKeyIDs(ids map[uint32]string) (string, error) {
	km := make(map[string]string, len(ids))
	for id, k := range ids {
		km[strconv.FormatUint(uint64(id), 10)] = k
	}
	p, err := json.Marshal(km)
	return string(p), err
}

// EndTime is the end time the runs table keeps for status s: none (0)
// while the run is running.
func EndTime(s *runfmt.Status) float64 {
	if s.Status == runfmt.StatusRunning {
		return 0
	}
	return s.Time
}
