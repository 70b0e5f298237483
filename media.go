package runlog

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"

	"github.com/runlog/runlog/internal/runfmt"
)

// Rich values: text, images, histograms, tables and HTML, written as
// docs/run-log-format.md's "Rich values" says. Unlike Log, these methods
// encode and write their files before they return (a PNG takes
// milliseconds): a training loop that minds it calls them from a goroutine
// of its own.

// LogText records a text value of key at step, such as a sample the model
// generated. Bytes that are not UTF-8 are replaced by U+FFFD; a text over
// 1 MiB is cut at a character boundary.
func (r *Run) LogText(step int64, key, text string) error {
	if err := runfmt.CheckKey(key); err != nil {
		return err
	}
	return r.appendJSON(runfmt.TypeText, runfmt.Text{Key: key, Step: step, Time: now(), Text: runfmt.CutText(text)})
}

// LogHistogram records the distribution of values as a histogram of key at
// step, in bins bins of equal width between the least and the greatest
// finite value (bins 0 means 64; at most 512). NaN, +Inf and -Inf are
// counted apart.
func (r *Run) LogHistogram(step int64, key string, values []float64, bins int) error {
	h, err := binHistogram(values, bins)
	if err != nil {
		return err
	}
	h.Key, h.Step, h.Time = key, step, now()
	if err := h.Check(); err != nil {
		return err
	}
	return r.appendJSON(runfmt.TypeHistogram, h)
}

// binHistogram bins values as LogHistogram does, without key, step or
// time.
func binHistogram(values []float64, bins int) (runfmt.Histogram, error) {
	if bins == 0 {
		bins = 64
	}
	if bins < 1 || bins > runfmt.MaxBins {
		return runfmt.Histogram{}, fmt.Errorf("%w: %d bins: give 1 to %d", ErrInvalid, bins, runfmt.MaxBins)
	}
	var h runfmt.Histogram
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		switch {
		case math.IsNaN(v):
			h.NaN++
		case math.IsInf(v, 1):
			h.Inf++
		case math.IsInf(v, -1):
			h.NInf++
		default:
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo > hi { // no finite value
		h.Edges, h.Counts = []float64{0, 1}, []float64{0}
		return h, nil
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / float64(bins)
	h.Counts = make([]float64, bins)
	h.Edges = make([]float64, bins+1)
	for i := range bins {
		h.Edges[i] = lo + float64(i)*width
	}
	h.Edges[bins] = hi
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		i := min(int((v-lo)/width), bins-1)
		h.Counts[i]++
	}
	return h, nil
}

// LogImage records img as a PNG image of key at step, with an optional
// caption. An image has at most 4096 × 4096 pixels (16,777,216) and
// 16,384 on a side; a larger one is refused with ErrInvalid.
func (r *Run) LogImage(step int64, key string, img image.Image, caption string) error {
	if err := runfmt.CheckKey(key); err != nil {
		return err
	}
	data, w, h, err := encodeImage(img)
	if err != nil {
		return err
	}
	m := runfmt.Media{Key: key, Step: step, Time: now(), Kind: runfmt.MediaImage, Format: "png",
		Width: w, Height: h, Caption: caption}
	if err := r.writeMedia(&m, data, "png"); err != nil {
		return err
	}
	return r.appendJSON(runfmt.TypeMedia, m)
}

func encodeImage(img image.Image) ([]byte, int, int, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 || w > runfmt.MaxImageSide || h > runfmt.MaxImageSide || w*h > runfmt.MaxImagePixels {
		return nil, 0, 0, fmt.Errorf("%w: image of %d×%d pixels: at most %d on a side and %d pixels (4096 × 4096)",
			ErrInvalid, w, h, runfmt.MaxImageSide, runfmt.MaxImagePixels)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, 0, 0, fmt.Errorf("runlog: encode image: %w", err)
	}
	return buf.Bytes(), w, h, nil
}

// LogHTML records an HTML document of key at step. It is stored as it
// is and never run: runlog's server sends it as an attachment under
// CSP sandbox, and the web UI shows it as source or in a sandboxed frame.
func (r *Run) LogHTML(step int64, key, html string) error {
	if err := runfmt.CheckKey(key); err != nil {
		return err
	}
	m := runfmt.Media{Key: key, Step: step, Time: now(), Kind: runfmt.MediaHTML, Format: "html"}
	if err := r.writeMedia(&m, []byte(strings.ToValidUTF8(html, "\uFFFD")), "html"); err != nil {
		return err
	}
	return r.appendJSON(runfmt.TypeMedia, m)
}

// Table is a table to log with LogTable: named columns and rows of cells.
// A cell is a string, a bool, nil, an integer or a float, or an
// image.Image (written as a PNG file beside the table).
type Table struct {
	Columns []string
	Rows    [][]any
}

// NewTable returns an empty table with the given columns.
func NewTable(columns ...string) *Table { return &Table{Columns: columns} }

// AddRow adds a row of cells, one per column. A row with another number of
// cells, or a cell of another type, is refused with an error that names
// the column.
func (t *Table) AddRow(cells ...any) error {
	if err := t.checkRow(len(t.Rows), cells); err != nil {
		return err
	}
	t.Rows = append(t.Rows, cells)
	return nil
}

func (t *Table) checkRow(i int, cells []any) error {
	if len(cells) < len(t.Columns) {
		return fmt.Errorf("%w: table row %d has %d cells for %d columns: no cell for column %q", ErrInvalid, i, len(cells), len(t.Columns), t.Columns[len(cells)])
	}
	if len(cells) > len(t.Columns) {
		return fmt.Errorf("%w: table row %d has %d cells for %d columns (%s): one for each", ErrInvalid, i, len(cells), len(t.Columns), strings.Join(t.Columns, ", "))
	}
	for j, c := range cells {
		switch c.(type) {
		case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, image.Image:
		default:
			return fmt.Errorf("%w: table row %d, column %q: a cell is %T; cells are numbers, strings, bools, nil or images", ErrInvalid, i, t.Columns[j], c)
		}
	}
	return nil
}

// LogTable records t as a table of key at step: a JSON file under media/
// with its images beside it.
func (r *Run) LogTable(step int64, key string, t *Table) error {
	if err := runfmt.CheckKey(key); err != nil {
		return err
	}
	data := make([][]any, len(t.Rows))
	for i, row := range t.Rows {
		if err := t.checkRow(i, row); err != nil {
			return err
		}
		out := make([]any, len(row))
		for j, c := range row {
			switch x := c.(type) {
			case image.Image:
				b, w, h, err := encodeImage(x)
				if err != nil {
					return fmt.Errorf("table row %d, column %q: %w", i, t.Columns[j], err)
				}
				m := runfmt.Media{Key: key, Step: step}
				if err := r.writeMedia(&m, b, "png"); err != nil {
					return err
				}
				out[j] = map[string]any{"image": map[string]any{"path": m.Path, "width": w, "height": h, "sha256": m.SHA256}}
			case float32:
				out[j] = float64(x)
			default:
				out[j] = x
			}
		}
		data[i] = out
	}
	cols := t.Columns
	if cols == nil {
		cols = []string{}
	}
	doc, err := runfmt.MarshalJSON(map[string]any{"columns": cols, "data": runfmt.Finite(anyRows(data))})
	if err != nil {
		return fmt.Errorf("runlog: table %q: %w", key, err)
	}
	m := runfmt.Media{Key: key, Step: step, Time: now(), Kind: runfmt.MediaTable, Format: "json", Rows: len(data), Columns: cols}
	if err := r.writeMedia(&m, doc, runfmt.TableExt); err != nil {
		return err
	}
	return r.appendJSON(runfmt.TypeMedia, m)
}

// anyRows turns rows into the []any of []any that runfmt.Finite walks.
func anyRows(rows [][]any) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

// writeMedia writes data as a media file of the run (runfmt.MediaFiles).
func (r *Run) writeMedia(m *runfmt.Media, data []byte, ext string) error {
	if err := r.media.Write(m, data, ext); err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	return nil
}
