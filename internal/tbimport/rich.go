package tbimport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/gif"  // image summaries may hold GIFs (animated) …
	_ "image/jpeg" // … or JPEGs
	_ "image/png"
	"math"
	"strings"

	"github.com/runlog/runlog/internal/runfmt"
)

// The rich values of an event file, besides scalars (the same protos as
// event.go's):
//
//	Value            4 image Image, 5 histo HistogramProto
//	Image            1 height int32, 2 width int32, 4 encoded_image_string bytes
//	HistogramProto   1 min double, 2 max double, 6 bucket_limit repeated double,
//	                 7 bucket repeated double
//	TensorProto      2 tensor_shape (2 dim repeated (1 size)), 8 string_val repeated bytes
//
// TensorFlow 1, PyTorch and tensorboardX write images and histograms as
// Image and HistogramProto; TensorFlow 2 writes tensors of the plugins
// "images" (strings: width, height, then one encoded image each),
// "histograms" (k × 3 numbers: left edge, right edge, count) and "text"
// (strings), which is also how every writer writes text.

// Plugins of rich tensor summaries.
const (
	textPlugin       = "text"
	imagesPlugin     = "images"
	histogramsPlugin = "histograms"
)

// richValue is a text, the images or a histogram of one tag in an event.
type richValue struct {
	tag    string
	kind   string   // runfmt.MediaText, MediaImage or MediaHistogram
	text   string   // a text
	images [][]byte // encoded images, copied out of the record
	// A histogram: edges and counts as TensorBoard's histogram plugin
	// reads them (not yet checked).
	edges, counts []float64
}

// decodeImageSummary returns the encoded image of an Image message.
func decodeImageSummary(tag, b []byte) (richValue, error) {
	rv := richValue{tag: string(tag), kind: runfmt.MediaImage}
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return rv, err
		}
		b = rest
		if f.num == 4 && f.wire == wireBytes {
			rv.images = append(rv.images, bytes.Clone(f.b))
		}
	}
	return rv, nil
}

// decodeHisto returns a HistogramProto's bins the way TensorBoard
// reads them: bucket i spans from the previous limit (the first from min)
// to its limit (the last to max).
func decodeHisto(tag, b []byte) (richValue, error) {
	rv := richValue{tag: string(tag), kind: runfmt.MediaHistogram}
	var lo, hi float64
	var limits []float64
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return rv, err
		}
		b = rest
		double := func(u uint64) float64 { return math.Float64frombits(u) }
		switch f.num {
		case 1:
			lo = double(f.v)
		case 2:
			hi = double(f.v)
		case 6:
			limits, err = appendFixed(limits, f, 8, double)
		case 7:
			rv.counts, err = appendFixed(rv.counts, f, 8, double)
		}
		if err != nil {
			return rv, err
		}
	}
	n := len(rv.counts)
	if n == 0 || len(limits) != n {
		return rv, fmt.Errorf("a histogram of %d buckets with %d limits", n, len(limits))
	}
	rv.edges = make([]float64, 0, n+1)
	rv.edges = append(append(append(rv.edges, lo), limits[:n-1]...), hi)
	return rv, nil
}

// decodeRichTensor returns the text, images or histogram of a tensor of
// the text, images or histograms plugin; ok is false for other tensors.
func decodeRichTensor(tag, b []byte, plugin string) (rv richValue, ok bool, err error) {
	if plugin != textPlugin && plugin != imagesPlugin && plugin != histogramsPlugin {
		return rv, false, nil
	}
	rv.tag = string(tag)
	t, err := decodeTensor(b)
	if err != nil {
		return rv, false, err
	}
	strs, vals := t.strs, t.vals
	switch plugin {
	case textPlugin:
		// A text summary may be a scalar, a vector or a matrix of strings
		// (shown by TensorBoard as a table): its strings, one per line.
		parts := make([]string, len(strs))
		for i, s := range strs {
			parts[i] = string(s)
		}
		rv.kind, rv.text = runfmt.MediaText, strings.Join(parts, "\n")
		return rv, len(strs) > 0, nil
	case imagesPlugin:
		rv.kind = runfmt.MediaImage
		if len(strs) < 3 { // width, height, then the images
			return rv, false, nil
		}
		for _, s := range strs[2:] {
			rv.images = append(rv.images, bytes.Clone(s))
		}
		return rv, true, nil
	}
	rv.kind = runfmt.MediaHistogram
	if t.content != nil {
		size := map[uint64]int{dtFloat: 4, dtDouble: 8}[t.dtype]
		if size == 0 || len(t.content)%size != 0 {
			return rv, false, nil
		}
		for p := t.content; len(p) > 0; p = p[size:] {
			if size == 4 {
				vals = append(vals, float64(math.Float32frombits(binary.LittleEndian.Uint32(p))))
			} else {
				vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(p)))
			}
		}
	}
	if len(vals) == 0 || len(vals)%3 != 0 {
		return rv, false, nil
	}
	for i := 0; i < len(vals); i += 3 {
		rv.edges = append(rv.edges, vals[i])
		rv.counts = append(rv.counts, vals[i+2])
	}
	rv.edges = append(rv.edges, vals[len(vals)-2])
	return rv, true, nil
}

// histogram makes the bins of a TensorBoard histogram follow runlog's
// rules: a bin of no width (TensorBoard's for a single value, or a bucket
// whose limit is the minimum) is merged into its neighbour, a histogram of
// one value gets a bin one wide around it, and one of more than MaxBins
// bins has its neighbours merged pairwise until it fits.
func histogram(edges, counts []float64) (e, c []float64) {
	e = []float64{edges[0]}
	carry := 0.0 // counts of leading bins of no width
	for i, n := range counts {
		if right := edges[i+1]; right > e[len(e)-1] {
			e, c = append(e, right), append(c, n+carry)
			carry = 0
		} else if len(c) > 0 {
			c[len(c)-1] += n
		} else {
			carry += n
		}
	}
	if len(c) == 0 { // every value at one point: a bin around it
		half := max(0.5, math.Abs(edges[0])*1e-9)
		return []float64{edges[0] - half, edges[0] + half}, []float64{carry}
	}
	for len(c) > runfmt.MaxBins {
		var e2, c2 []float64
		for i := 0; i < len(c); i += 2 {
			e2, c2 = append(e2, e[i]), append(c2, c[i])
			if i+1 < len(c) {
				c2[len(c2)-1] += c[i+1]
			}
		}
		e, c = append(e2, e[len(e)-1]), c2
	}
	return e, c
}

// rich appends the records of an event's rich value: a text, a histogram,
// or its images, each written first as a file under media/.
func (w *logWriter) rich(step int64, wall float64, rv richValue) error {
	if err := runfmt.CheckKey(rv.tag); err != nil {
		w.badKeys[rv.tag] = true
		return nil
	}
	switch rv.kind {
	case runfmt.MediaText:
		w.values++
		return w.json(runfmt.TypeText, runfmt.Text{Key: rv.tag, Step: step, Time: wall, Text: runfmt.CutText(rv.text)})
	case runfmt.MediaHistogram:
		for _, v := range rv.edges {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				w.badValues++
				return nil
			}
		}
		h := runfmt.Histogram{Key: rv.tag, Step: step, Time: wall}
		h.Edges, h.Counts = histogram(rv.edges, rv.counts)
		if h.Check() != nil {
			w.badValues++
			return nil
		}
		w.values++
		return w.json(runfmt.TypeHistogram, h)
	}
	for i, data := range rv.images {
		m := runfmt.Media{Key: rv.tag, Step: step, Time: wall, Kind: runfmt.MediaImage}
		if len(rv.images) > 1 {
			m.Index = &i
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > runfmt.MaxImageSide || cfg.Height > runfmt.MaxImageSide ||
			cfg.Width*cfg.Height > runfmt.MaxImagePixels {
			w.badValues++
			continue
		}
		m.Width, m.Height, m.Format = cfg.Width, cfg.Height, format
		ext := map[string]string{"png": "png", "jpeg": "jpg", "gif": "gif"}[format]
		if err := w.media.Write(&m, data, ext); err != nil {
			return err
		}
		w.values++
		if err := w.json(runfmt.TypeMedia, m); err != nil {
			return err
		}
	}
	return nil
}
