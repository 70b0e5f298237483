// Package export writes a run's files in the prototype's formats:
// config.json, metrics.csv, metrics.json and summary.json.
package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// SeedColumns are the first columns of metrics.csv, in the prototype's
// order. Keys a run did not log are left empty.
var SeedColumns = []string{"step", "wallclock_time", "elapsed_time", "train_loss", "val_loss", "val_perplexity", "learning_rate", "tokens_per_sec"}

// Formats of metrics files.
const (
	CSV  = "csv"
	JSON = "json"
)

// Table is a run's metrics as rows, one per step that has any value.
type Table struct {
	Run     store.Run
	Keys    []string // metric columns after step and the time columns
	Steps   []int64
	Times   []int64     // unix ms: the earliest time logged at the step
	Values  [][]float64 // Values[k][i] is key k at Steps[i]
	Present [][]bool    // whether key k was logged at Steps[i]
	segs    []series.Segment
}

// Load reads all current points of a run into a table.
func Load(ctx context.Context, st store.Store, r store.Run) (*Table, error) {
	ser, err := st.Series(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	segs, err := summary.Segments(ctx, st, r.ID)
	if err != nil {
		return nil, err
	}
	t := &Table{Run: r, segs: segs}
	seed := map[string]bool{}
	for _, c := range SeedColumns[3:] {
		seed[c] = true
		t.Keys = append(t.Keys, c)
	}
	var others []string
	for _, s := range ser {
		if !seed[s.Key] && s.Stats.Count > 0 {
			others = append(others, s.Key)
		}
	}
	sort.Strings(others)
	t.Keys = append(t.Keys, others...)
	pts := make([]series.Points, len(t.Keys))
	for i, k := range t.Keys {
		p, err := st.Points(ctx, r.ID, k, store.PointsOptions{})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		pts[i] = p
	}
	t.merge(pts)
	return t, nil
}

// merge joins series sorted by step into rows: for each step, the last
// value logged at it per key and the earliest time.
func (t *Table) merge(pts []series.Points) {
	idx := make([]int, len(pts))
	t.Values = make([][]float64, len(pts))
	t.Present = make([][]bool, len(pts))
	for {
		// No sentinel step: math.MaxInt64 is a step a run may log.
		step, found := int64(0), false
		for k, p := range pts {
			if idx[k] < p.Len() && (!found || p.Steps[idx[k]] < step) {
				step, found = p.Steps[idx[k]], true
			}
		}
		if !found {
			return
		}
		tm := int64(math.MaxInt64)
		for k := range pts {
			p := &pts[k]
			v, ok := 0.0, false
			for idx[k] < p.Len() && p.Steps[idx[k]] == step {
				v, ok = p.Values[idx[k]], true
				tm = min(tm, p.Times[idx[k]])
				idx[k]++
			}
			t.Values[k] = append(t.Values[k], v)
			t.Present[k] = append(t.Present[k], ok)
		}
		t.Steps = append(t.Steps, step)
		t.Times = append(t.Times, tm)
	}
}

// Wallclock returns the seconds between the run's first start and ms.
func (t *Table) Wallclock(ms int64) float64 {
	return float64(ms-int64(math.Round(t.Run.Start*1000))) / 1000
}

// Active returns the seconds the run's processes had been running at ms.
func (t *Table) Active(ms int64) float64 {
	return series.ActiveAt(ms, int64(math.Round(t.Run.Start*1000)), t.segs)
}

// WriteCSV writes metrics.csv: the seed's columns, then the run's other
// keys sorted, one row per step.
func (t *Table) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	header := append(append([]string{}, SeedColumns[:3]...), t.Keys...)
	for i, h := range header {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(csvField(h))
	}
	bw.WriteByte('\n')
	var line []byte
	for i, step := range t.Steps {
		line = strconv.AppendInt(line[:0], step, 10)
		wall := t.Wallclock(t.Times[i])
		line = append(line, ',')
		line = strconv.AppendFloat(line, wall, 'f', -1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, math.Round(wall/60*100)/100, 'f', -1, 64)
		for k := range t.Keys {
			line = append(line, ',')
			if t.Present[k][i] {
				line = AppendCSVFloat(line, t.Values[k][i])
			}
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AppendCSVFloat appends v as metrics.csv writes it: the shortest decimal
// that reads back as the same float64, and NaN, inf and -inf for the
// non-finite values, which Python, pandas and Go all parse.
func AppendCSVFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func csvField(s string) string {
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			return strconv.Quote(s)
		}
	}
	return s
}

// WriteJSON writes metrics.json: the run's identity and one object per
// step with the same columns as metrics.csv, plus the unix time and the
// active time. Keys not logged at a step are left out; non-finite values
// are the strings "NaN", "Infinity" and "-Infinity".
func (t *Table) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	head := map[string]any{"id": t.Run.ID, "name": t.Run.Name, "project": t.Run.Project,
		"start_time": t.Run.Start, "columns": append([]string{"step", "time", "wallclock_time", "active_time", "elapsed_time"}, t.Keys...)}
	hb, err := json.Marshal(head)
	if err != nil {
		return err
	}
	bw.Write(hb[:len(hb)-1])
	bw.WriteString(`,"metrics":[`)
	var line []byte
	for i, step := range t.Steps {
		line = line[:0]
		if i > 0 {
			line = append(line, ",\n"...)
		}
		wall := t.Wallclock(t.Times[i])
		line = append(line, `{"step":`...)
		line = strconv.AppendInt(line, step, 10)
		line = append(line, `,"time":`...)
		line = strconv.AppendFloat(line, float64(t.Times[i])/1000, 'f', -1, 64)
		line = append(line, `,"wallclock_time":`...)
		line = strconv.AppendFloat(line, wall, 'f', -1, 64)
		line = append(line, `,"active_time":`...)
		line = strconv.AppendFloat(line, math.Round(t.Active(t.Times[i])*1000)/1000, 'f', -1, 64)
		line = append(line, `,"elapsed_time":`...)
		line = strconv.AppendFloat(line, math.Round(wall/60*100)/100, 'f', -1, 64)
		for k, key := range t.Keys {
			if !t.Present[k][i] {
				continue
			}
			kb, _ := json.Marshal(key)
			line = append(append(append(line, ','), kb...), ':')
			fb, _ := runfmt.Float(t.Values[k][i]).MarshalJSON()
			line = append(line, fb...)
		}
		line = append(line, '}')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// Options say what Files writes.
type Options struct {
	Dir     string   // where to write; "" means the run folder
	Formats []string // CSV and/or JSON; empty means both
	Now     time.Time
}

// Files writes the run's files and returns their paths.
func Files(ctx context.Context, st store.Store, r store.Run, opt Options) ([]string, error) {
	dir := opt.Dir
	if dir == "" {
		dir = r.Path
	}
	if dir == "" {
		return nil, fmt.Errorf("run %s has no folder; pass -o DIR", r.ID)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	formats := opt.Formats
	if len(formats) == 0 {
		formats = []string{CSV, JSON}
	}
	var written []string
	write := func(name string, fn func(io.Writer) error) error {
		path := filepath.Join(dir, name)
		if err := atomicfile.Write(path, fn); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}
	cfg := r.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	if err := write(layout.ConfigFile, func(w io.Writer) error { return writeIndented(w, cfg) }); err != nil {
		return written, err
	}
	t, err := Load(ctx, st, r)
	if err != nil {
		return written, err
	}
	for _, f := range formats {
		switch f {
		case CSV:
			err = write(layout.MetricsCSV, t.WriteCSV)
		case JSON:
			err = write(layout.MetricsJSON, t.WriteJSON)
		default:
			err = fmt.Errorf("unknown format %q: use csv or json", f)
		}
		if err != nil {
			return written, err
		}
	}
	sum, err := summary.Load(ctx, st, r, opt.Now)
	if err != nil {
		return written, err
	}
	err = write(layout.SummaryJSON, func(w io.Writer) error {
		b, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	})
	return written, err
}

func writeIndented(w io.Writer, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
