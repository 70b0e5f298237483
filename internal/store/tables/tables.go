// Package tables holds what the store implementations (store/sqlite and
// store/postgres) do alike apart from their SQL: how the rows of each
// table are scanned and read (from *sql.Rows or pgx.Rows, see Rows), the
// conditions of a run filter and the resolving of a run reference (each
// store giving its SQL), the 24-byte point of a run's final losses, which
// loss key a listing shows, the JSON objects and summaries kept as text,
// annotations, decoding a series' chunks, and a rewind's splitting of
// chunks. Both stores keep the same columns, so views cannot tell them
// apart; each keeps only its SQL.
package tables

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Scanner is a row to scan: *sql.Row(s) or pgx.Row(s).
type Scanner interface{ Scan(...any) error }

// RunColumns are the columns Run reads, of the runs table as r.
const RunColumns = `r.id, r.project, r.name, r.grp, r.tags, r.notes, r.hypothesis, r.status, r.exit_code, r.error,
	r.start_time, r.end_time, r.last_time, r.host, r.user_name, r.command, r.cwd, r.git, r.env, r.parent,
	r.path, r.config, r.summary, r.max_step, r.active, r.segments, r.train_last, r.val_last, r.archived`

// ListColumns are the columns Runs reads: what a listing of many runs
// needs.
const ListColumns = `r.id, r.project, r.name, r.grp, r.tags, r.hypothesis, r.status, r.exit_code,
	r.start_time, r.end_time, r.last_time, r.host, r.path, r.config, r.max_step, r.active, r.segments,
	r.train_last, r.val_last, r.archived`

// BriefColumns are the columns Runs reads with Filter.Brief.
const BriefColumns = `r.id, r.project, r.name, r.status, r.start_time, r.last_time, r.max_step,
	r.train_last, r.val_last, r.archived`

// ScanBrief scans the BriefColumns.
func ScanBrief(sc Scanner) (store.Run, error) {
	var r store.Run
	var train, val []byte
	err := sc.Scan(&r.ID, &r.Project, &r.Name, &r.Status, &r.Start, &r.Last, &r.MaxStep, &train, &val, &r.Archived)
	r.TrainLoss, r.ValLoss = DecodePoint(train), DecodePoint(val)
	return r, err
}

// ScanListed scans the ListColumns.
func ScanListed(sc Scanner) (store.Run, error) { return scanListedWith(sc) }

// ScanListedSummary scans the ListColumns and then r.summary.
func ScanListedSummary(sc Scanner) (store.Run, error) {
	var summary string
	r, err := scanListedWith(sc, &summary)
	r.Summary = json.RawMessage(summary)
	return r, err
}

// scanListedWith scans the ListColumns and then more.
func scanListedWith(sc Scanner, more ...any) (store.Run, error) {
	var r store.Run
	var tags, config string
	var train, val []byte
	err := sc.Scan(append([]any{&r.ID, &r.Project, &r.Name, &r.Group, &tags, &r.Hypothesis, &r.Status, &r.ExitCode,
		&r.Start, &r.End, &r.Last, &r.Host, &r.Path, &config, &r.MaxStep, &r.Active, &r.Segments, &train, &val, &r.Archived}, more...)...)
	if err != nil {
		return r, err
	}
	if tags != "[]" {
		json.Unmarshal([]byte(tags), &r.Tags)
	}
	r.Config = json.RawMessage(config)
	r.TrainLoss, r.ValLoss = DecodePoint(train), DecodePoint(val)
	return r, nil
}

// ScanRun scans the RunColumns.
func ScanRun(sc Scanner) (store.Run, error) {
	var r store.Run
	var tags, cmd, git, env, config, summary string
	var train, val []byte
	err := sc.Scan(&r.ID, &r.Project, &r.Name, &r.Group, &tags, &r.Notes, &r.Hypothesis, &r.Status,
		&r.ExitCode, &r.Error, &r.Start, &r.End, &r.Last, &r.Host, &r.User, &cmd, &r.Dir, &git, &env,
		&r.Parent, &r.Path, &config, &summary, &r.MaxStep, &r.Active, &r.Segments, &train, &val, &r.Archived)
	if err != nil {
		return r, err
	}
	r.TrainLoss, r.ValLoss = DecodePoint(train), DecodePoint(val)
	json.Unmarshal([]byte(tags), &r.Tags)
	json.Unmarshal([]byte(cmd), &r.Command)
	json.Unmarshal([]byte(env), &r.Env)
	if git != "" {
		r.Git = &runfmt.Git{}
		json.Unmarshal([]byte(git), r.Git)
	}
	r.Config, r.Summary = json.RawMessage(config), json.RawMessage(summary)
	return r, nil
}

// EncodePoint encodes a point in 24 bytes, as the runs table keeps the
// final losses: SQLite would turn a NaN value stored as REAL into NULL.
func EncodePoint(p series.Point) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b, uint64(p.Step))
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Time))
	binary.LittleEndian.PutUint64(b[16:], math.Float64bits(p.Value))
	return b
}

// DecodePoint decodes what EncodePoint encoded; nil for anything else.
func DecodePoint(b []byte) *series.Point {
	if len(b) != 24 {
		return nil
	}
	return &series.Point{
		Step:  int64(binary.LittleEndian.Uint64(b)),
		Time:  int64(binary.LittleEndian.Uint64(b[8:])),
		Value: math.Float64frombits(binary.LittleEndian.Uint64(b[16:])),
	}
}

// Latest is the final point of the most preferred loss key offered: the
// train or validation loss a listing shows.
type Latest struct {
	Key  string
	Last *series.Point
}

// Offer accounts for the final point p of key, if key is one of keys
// (series.TrainLossKeys or ValLossKeys, most preferred first).
func (l *Latest) Offer(keys []string, key string, p series.Point) {
	r := lossRank(keys, key)
	if r < 0 {
		return
	}
	if cur := lossRank(keys, l.Key); l.Key == "" || r <= cur {
		l.Key, l.Last = key, &p
	}
}

// Recomputed is a run's greatest step and final losses gathered anew from
// the statistics of all its series, as a rewind needs them.
type Recomputed struct {
	MaxStep    int64 // -1 if no series has a point
	Train, Val Latest
}

// NewRecomputed returns a Recomputed that has seen no series.
func NewRecomputed() Recomputed { return Recomputed{MaxStep: -1} }

// Add accounts for the series key with the stored statistics raw; a
// series without points or with statistics it cannot decode changes
// nothing.
func (r *Recomputed) Add(key string, raw []byte) {
	var st series.Stats
	if st.UnmarshalBinary(raw) != nil || st.Count == 0 {
		return
	}
	r.MaxStep = max(r.MaxStep, st.Last.Step)
	r.Train.Offer(series.TrainLossKeys, key, st.Last)
	r.Val.Offer(series.ValLossKeys, key, st.Last)
}

// lossRank returns the preference of key among keys (lower is preferred),
// or -1 if it is not one of them.
func lossRank(keys []string, key string) int {
	for i, k := range keys {
		if k == key {
			return i
		}
	}
	return -1
}

// MergeSummary applies summary updates (JSON null deletes a key) to the
// stored summary raw, a JSON object, and returns the new one.
func MergeSummary(raw string, updates map[string]json.RawMessage) (string, error) {
	sum := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(raw), &sum); err != nil {
		sum = map[string]json.RawMessage{}
	}
	for k, v := range updates {
		if string(v) == "null" {
			delete(sum, k)
		} else {
			sum[k] = v
		}
	}
	p, err := json.Marshal(sum)
	return string(p), err
}

// Annotated is what annotations change of a run: its tags (as the runs
// table keeps them, a JSON array), notes, hypothesis, name and archived
// state.
type Annotated struct {
	Tags                    string
	Notes, Hypothesis, Name string
	Archived                bool
}

// Apply applies annotations in order.
func (a *Annotated) Apply(anns []runfmt.Annotate) error {
	var tags []string
	json.Unmarshal([]byte(a.Tags), &tags)
	for _, an := range anns {
		tags, a.Notes, a.Hypothesis = an.Apply(tags, a.Notes, a.Hypothesis)
		if an.Name != "" {
			a.Name = an.Name
		}
		if an.Archived != nil {
			a.Archived = *an.Archived
		}
	}
	if tags == nil {
		tags = []string{}
	}
	p, err := json.Marshal(tags)
	a.Tags = string(p)
	return err
}

// DecodeObject decodes a stored JSON object, turning "NaN" and the
// infinities back into numbers; nil for an empty or broken one.
func DecodeObject(s string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil || len(m) == 0 {
		return nil
	}
	runfmt.NumberValue(m)
	return m
}

// StepRange returns the least and greatest step of c, which must not be
// empty.
func StepRange(c series.Points) (lo, hi int64) {
	lo, hi = c.Steps[0], c.Steps[0]
	for _, s := range c.Steps {
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo, hi
}

// Split appends the points of all with steps up to step to keep and the
// others, which a rewind to step supersedes, to drop.
func Split(all series.Points, step int64, keep, drop *series.Points) {
	for i, st := range all.Steps {
		if st > step {
			drop.Append(st, all.Times[i], all.Values[i])
		} else {
			keep.Append(st, all.Times[i], all.Values[i])
		}
	}
}

// Chunk is a stored chunk: its encoding, its number of points and where
// they go in the series.
type Chunk struct {
	Data  []byte
	N, At int
}

// DecodeChunks decodes chunks into pts, in order, on all CPUs when there
// are enough of them: each goroutine fills its own part of the columns.
func DecodeChunks(chunks []Chunk, total int, pts *series.Points) error {
	pts.Steps = make([]int64, total)
	pts.Times = make([]int64, total)
	pts.Values = make([]float64, total)
	workers := min(runtime.GOMAXPROCS(0), len(chunks)/4)
	if workers < 2 {
		workers = 1
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(chunks); i += workers {
				c := chunks[i]
				end := c.At + c.N
				part := series.Points{Steps: pts.Steps[c.At:c.At:end], Times: pts.Times[c.At:c.At:end], Values: pts.Values[c.At:c.At:end]}
				if err := series.DecodeChunk(c.Data, &part); err != nil {
					errs[w] = fmt.Errorf("chunk %d: %w", i, err)
					return
				}
				if part.Len() != c.N {
					errs[w] = fmt.Errorf("chunk %d holds %d points, its row says %d", i, part.Len(), c.N)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SortByStep orders points by step, keeping the logged order of points with
// equal steps.
func SortByStep(p *series.Points) {
	idx := make([]int, p.Len())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Steps[idx[a]] < p.Steps[idx[b]] })
	var out series.Points
	out.Steps = make([]int64, len(idx))
	out.Times = make([]int64, len(idx))
	out.Values = make([]float64, len(idx))
	for i, j := range idx {
		out.Steps[i], out.Times[i], out.Values[i] = p.Steps[j], p.Times[j], p.Values[j]
	}
	*p = out
}
