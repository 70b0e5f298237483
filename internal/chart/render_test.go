package chart

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// inkOf counts the pixels of img inside r that are close to c.
func inkOf(img *image.RGBA, r image.Rectangle, c color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.RGBAAt(x, y)
			if absDiff(p.R, c.R)+absDiff(p.G, c.G)+absDiff(p.B, c.B) < 40 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }

func TestCurvesPNG(t *testing.T) {
	st, runs := twoRuns(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		runs   []store.Run
		opt    Options
		w, h   int
		panels int
		encode bool
	}{
		{"two runs, both axes", runs, Options{}, 1600, 600, 2, true},
		{"one run, smoothed", runs[:1], Options{Smooth: 0.9}, 1600, 600, 2, false},
		{"one axis, log y, small", runs, Options{X: series.AxisActive, LogY: true, Width: 640, Height: 400}, 640, 400, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fig, err := Curves(ctx, st, tt.runs, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			img := fig.Image() // the pixels a PNG holds
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("image %v, want %d×%d", b.Size(), tt.w, tt.h)
			}
			if tt.encode {
				var buf bytes.Buffer
				if err := fig.Write(&buf, PNG); err != nil {
					t.Fatal(err)
				}
				cfg, err := png.DecodeConfig(bytes.NewReader(buf.Bytes()))
				if err != nil || cfg.Width != tt.w || cfg.Height != tt.h {
					t.Fatalf("PNG %d×%d (%v), want %d×%d", cfg.Width, cfg.Height, err, tt.w, tt.h)
				}
			}
			// Each panel has curves of the first two colours: the two runs,
			// or the train and validation loss of one.
			l := fig.frame()
			if len(l.panels) != tt.panels {
				t.Fatalf("%d panels, want %d", len(l.panels), tt.panels)
			}
			for i, r := range l.panels {
				for _, c := range Palette[:2] {
					if n := inkOf(img, r, c); n < 100 {
						t.Errorf("panel %d has %d pixels of %v, want a curve", i, n, c)
					}
				}
			}
			if n := inkOf(img, img.Bounds(), Palette[2]); n > 20 {
				t.Errorf("%d pixels of a third colour, with two curves' colours in use", n)
			}
		})
	}
}

// svgTexts returns the texts of an SVG document.
func svgTexts(t *testing.T, data []byte) (texts []string, paths int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	inText := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inText = el.Name.Local == "text"
			if el.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			if inText {
				texts = append(texts, strings.TrimSpace(string(el)))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return texts, paths
}

func TestCurvesSVG(t *testing.T) {
	st, runs := twoRuns(t)
	fig, err := Curves(context.Background(), st, runs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fig.Write(&buf, SVG); err != nil {
		t.Fatal(err)
	}
	texts, paths := svgTexts(t, buf.Bytes())
	for _, want := range []string{"Loss by gradient step", "Loss by wallclock time", "gradient step", "wallclock time (s)",
		"loss", "lr-1e-2", "lr-3e-3", "train_loss", "val_loss", "0", "100", "200"} {
		if !slices.Contains(texts, want) {
			t.Errorf("SVG lacks the text %q; it has %q", want, texts)
		}
	}
	// grid, axes, ticks, 2 runs × 2 keys × 2 panels, markers of the 9
	// validations, legend
	if paths < 8 {
		t.Errorf("SVG has %d paths", paths)
	}
	buf.Reset()
	if err := fig.Write(&buf, PDF); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("%PDF")) {
		t.Errorf("PDF: %v, starts %q", err, buf.Bytes()[:min(8, buf.Len())])
	}
	if err := fig.Write(&buf, "gif"); err == nil {
		t.Error("gif: no error")
	}
}

func TestSchedule(t *testing.T) {
	st, runs := twoRuns(t)
	fig, err := Schedule(context.Background(), st, runs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fig.Write(&buf, SVG); err != nil {
		t.Fatal(err)
	}
	texts, _ := svgTexts(t, buf.Bytes())
	// 1e-3 at most: drawn as multiples of 1e-3, from 0
	for _, want := range []string{"Learning rate by gradient step", "learning rate (×1e-3)", "0", "0.4", "1.0", "gradient step"} {
		if !slices.Contains(texts, want) {
			t.Errorf("schedule lacks the text %q; it has %q", want, texts)
		}
	}
}

func TestDivergedRun(t *testing.T) {
	home := t.TempDir()
	trainingRun(t, home, "nanrun01", "diverges", 1764201600, 100, 10, 1,
		map[int]float64{60: math.Inf(1), 61: math.NaN(), 62: math.NaN(), 63: 0, 64: -1})
	st, runs := openHome(t, home)
	for _, opt := range []Options{{}, {LogY: true}, {Smooth: 0.8}} {
		fig, err := Curves(context.Background(), st, []store.Run{runs["nanrun01"]}, opt)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := fig.Write(&buf, SVG); err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		texts, _ := svgTexts(t, buf.Bytes())
		if !slices.Contains(texts, "train_loss (+Inf at step 60)") {
			t.Errorf("%+v: the legend does not say where the run diverged: %q", opt, texts)
		}
		if opt.LogY { // NaN, infinities, 0 and -1 on a log axis
			fig.Width, fig.Height = 600, 300
			if n := inkOf(fig.Image(), image.Rect(0, 0, 600, 300), Palette[0]); n < 50 {
				t.Errorf("log y: %d pixels of the curve", n)
			}
		}
	}
}

func TestFiles(t *testing.T) {
	st, runs := twoRuns(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "plots")
	paths, err := Files(ctx, st, runs, dir, Options{Format: SVG, Smooth: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "loss_curves.svg"), filepath.Join(dir, "lr_schedule.svg")}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := Files(ctx, st, runs, "", Options{}); err == nil {
		t.Error("several runs and no folder: no error")
	}
	if _, err := Files(ctx, st, runs, dir, Options{Format: "jpeg"}); err == nil {
		t.Error("jpeg: no error")
	}
	if _, err := Files(ctx, st, runs, dir, Options{X: "epoch"}); err == nil {
		t.Error("x-axis epoch: no error")
	}

	// A run with neither a loss nor a learning rate has no plots.
	home := t.TempDir()
	var w logWriter
	w.header("accrun01", "acc only", 1764201600)
	w.metrics(0, 1764201601, map[string]float64{"accuracy": 0.5})
	writeRun(t, home, "accrun01", &w)
	st2, runs2 := openHome(t, home)
	if _, err := Files(ctx, st2, []store.Run{runs2["accrun01"]}, t.TempDir(), Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no loss: %v, want ErrNoData", err)
	}
	// ... unless it names its keys.
	paths, err = Files(ctx, st2, []store.Run{runs2["accrun01"]}, "", Options{Keys: []string{"accuracy"}})
	if err != nil || len(paths) != 1 || filepath.Base(paths[0]) != "loss_curves.png" || filepath.Dir(paths[0]) != runs2["accrun01"].Path {
		t.Errorf("keys accuracy into the run folder: %v %v", paths, err)
	}
}

func TestFormatOf(t *testing.T) {
	for in, want := range map[string]string{"a.png": PNG, "b/c.SVG": SVG, "x.pdf": PDF, "x.jpg": "", "noext": ""} {
		got, err := FormatOf(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("FormatOf(%q) = %q, %v", in, got, err)
		}
	}
}
