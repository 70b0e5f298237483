package tbimport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// richFixture is testdata/rich.json: what TensorBoard's own loader reads
// of the images, histograms and texts of testdata/rich (make_fixtures.py).
type richFixture map[string]map[string][][4]json.RawMessage

type fixtureImage struct {
	SHA256        string `json:"sha256"`
	Width, Height int
}

type fixtureHistogram struct {
	Edges, Counts []float64
}

// TestImportRich imports images, histograms and texts written by
// tensorboardX (as PyTorch writes them) and by TensorFlow 2's plugins, and
// checks each against what TensorBoard reads of them.
func TestImportRich(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "rich.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx richFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	src := copyTree(t, filepath.Join("testdata", "rich"))
	res, warns, st := importInto(t, home, src, "rich")
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	ctx := context.Background()
	runs, err := st.Runs(ctx, store.Filter{Project: "rich"})
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %v, %v", runs, err)
	}
	values := int64(0)
	for _, r := range res.Runs {
		values += r.Values
	}
	if values == 0 {
		t.Errorf("the import says it added no rich values: %+v", res.Runs)
	}
	for _, r := range runs {
		if r.Status != runfmt.StatusFinished {
			t.Errorf("run %s is %s", r.Name, r.Status)
		}
		for tag, vals := range fx[r.Name] {
			var kind string
			json.Unmarshal(vals[0][2], &kind)
			switch kind {
			case runfmt.MediaImage:
				got, _, err := st.Media(ctx, r.ID, tag, store.MediaQuery{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, v := range vals {
					var step int64
					var imgs []fixtureImage
					json.Unmarshal(v[0], &step)
					json.Unmarshal(v[3], &imgs)
					for _, im := range imgs {
						want = append(want, fmtImage(step, im.SHA256, im.Width, im.Height))
					}
				}
				var have []string
				for _, m := range got {
					have = append(have, fmtImage(m.Step, m.SHA256, m.Width, m.Height))
					data, err := os.ReadFile(filepath.Join(r.Path, filepath.FromSlash(m.Path)))
					sum := sha256.Sum256(data)
					if err != nil || hex.EncodeToString(sum[:]) != m.SHA256 || int64(len(data)) != m.Size {
						t.Errorf("%s %s step %d: file %s is not the image (%v)", r.Name, tag, m.Step, m.Path, err)
					}
				}
				if !slices.Equal(have, want) {
					t.Errorf("%s %s: images\n%v\nTensorBoard reads\n%v", r.Name, tag, have, want)
				}
			case runfmt.MediaText:
				got, _, _ := st.Media(ctx, r.ID, tag, store.MediaQuery{Limit: 1000})
				if len(got) != len(vals) {
					t.Fatalf("%s %s: %d texts, TensorBoard reads %d", r.Name, tag, len(got), len(vals))
				}
				for i, v := range vals {
					var text string
					json.Unmarshal(v[3], &text)
					if got[i].Text != text || got[i].Kind != runfmt.MediaText {
						t.Errorf("%s %s: text %q, TensorBoard reads %q", r.Name, tag, got[i].Text, text)
					}
				}
			case runfmt.MediaHistogram:
				got, total, _ := st.Histograms(ctx, r.ID, tag, 0)
				if total != len(vals) {
					t.Fatalf("%s %s: %d histograms, TensorBoard reads %d", r.Name, tag, total, len(vals))
				}
				for i, v := range vals {
					var h fixtureHistogram
					var step int64
					json.Unmarshal(v[0], &step)
					json.Unmarshal(v[3], &h)
					// TensorBoard reads a HistogramProto's min and max as float32.
					if got[i].Step != step || !slices.Equal(float32s(got[i].Edges), float32s(h.Edges)) || !slices.Equal(got[i].Counts, h.Counts) {
						t.Errorf("%s %s step %d: edges %v counts %v, TensorBoard reads %v %v", r.Name, tag, step, got[i].Edges, got[i].Counts, h.Edges, h.Counts)
					}
				}
			default:
				t.Fatalf("rich.json: kind %q", kind)
			}
		}
		keys, _ := st.MediaKeys(ctx, r.ID)
		if n := len(fx[r.Name]); len(keys) != n {
			t.Errorf("%s: %d media keys %+v, TensorBoard reads %d tags", r.Name, len(keys), keys, n)
		}
	}

	// The same image logged twice is one file.
	tbx := runs[0]
	if tbx.Name != "tbx" {
		tbx = runs[1]
	}
	imgs, _, _ := st.Media(ctx, tbx.ID, "samples/digit", store.MediaQuery{})
	if n := len(imgs); n != 5 || imgs[3].Path != imgs[4].Path || imgs[3].Step != 300 {
		t.Errorf("the image of steps 300 and 400: %+v", imgs[3:])
	}

	// Importing again adds nothing.
	res, _, _ = importInto(t, home, src, "rich")
	for _, r := range res.Runs {
		if r.Values != 0 {
			t.Errorf("a second import added %d values to %s", r.Values, r.Name)
		}
	}
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func fmtImage(step int64, sha string, w, h int) string {
	return fmt.Sprintf("step %d %s %d×%d", step, sha[:12], w, h)
}

func TestHistogramBins(t *testing.T) {
	tests := []struct {
		name                 string
		edges, counts        []float64
		wantEdges, wantCount []float64
	}{
		{"bins as they are", []float64{0, 1, 2}, []float64{3, 4}, []float64{0, 1, 2}, []float64{3, 4}},
		{"one value", []float64{2, 2}, []float64{5}, []float64{1.5, 2.5}, []float64{5}},
		{"a first bucket whose limit is the minimum", []float64{1, 1, 2, 3}, []float64{2, 3, 4}, []float64{1, 2, 3}, []float64{5, 4}},
		{"a bin of no width inside", []float64{0, 1, 1, 2}, []float64{1, 2, 3}, []float64{0, 1, 2}, []float64{3, 3}},
		{"all at one point", []float64{3, 3, 3}, []float64{1, 1}, []float64{2.5, 3.5}, []float64{2}},
	}
	for _, tt := range tests {
		e, c := histogram(tt.edges, slices.Clone(tt.counts))
		if !slices.Equal(e, tt.wantEdges) || !slices.Equal(c, tt.wantCount) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, e, c, tt.wantEdges, tt.wantCount)
		}
	}
	// More bins than a record holds are merged pairwise.
	edges := make([]float64, 1201)
	counts := make([]float64, 1200)
	for i := range edges {
		edges[i] = float64(i)
	}
	for i := range counts {
		counts[i] = 1
	}
	e, c := histogram(edges, counts)
	sum := 0.0
	for _, n := range c {
		sum += n
	}
	if len(c) > runfmt.MaxBins || len(e) != len(c)+1 || sum != 1200 || e[0] != 0 || e[len(e)-1] != 1200 {
		t.Errorf("1200 bins became %d (edges %d, sum %v, %v…%v)", len(c), len(e), sum, e[0], e[len(e)-1])
	}
}

// FuzzDecodeRich checks that no event makes decoding its images,
// histograms and texts panic, and that every histogram it yields becomes
// bins a record accepts (or is refused by Check, never written broken).
func FuzzDecodeRich(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "rich", "*", "*tfevents*"))
	for _, p := range paths {
		fh, err := os.Open(p)
		if err != nil {
			f.Fatal(err)
		}
		r := NewReader(fh, p, 0)
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			f.Add(bytes.Clone(rec))
		}
		fh.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev event
		plugins := map[string]string{}
		if decodeEvent(data, &ev, plugins) != nil {
			return
		}
		for _, rv := range ev.rich {
			if rv.kind != runfmt.MediaHistogram || len(rv.counts) == 0 || len(rv.edges) != len(rv.counts)+1 {
				continue
			}
			finite := true
			for _, v := range rv.edges {
				finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
			}
			if !finite {
				continue
			}
			total := 0.0
			for _, n := range rv.counts {
				total += n
			}
			e, c := histogram(rv.edges, slices.Clone(rv.counts))
			sum := 0.0
			for _, n := range c {
				sum += n
			}
			if len(e) != len(c)+1 || len(c) > runfmt.MaxBins || (sum != total && !math.IsNaN(total) && !math.IsInf(total, 0) && math.Abs(sum-total) > 1e-9*math.Abs(total)) {
				t.Fatalf("bins %v %v of %v %v", e, c, rv.edges, rv.counts)
			}
			for i := 1; i < len(e); i++ {
				if !(e[i] > e[i-1]) && math.Abs(e[0]) < 1e300 && math.Abs(e[len(e)-1]) < 1e300 {
					t.Fatalf("edges do not increase: %v (of %v)", e, rv.edges)
				}
			}
		}
	})
}
