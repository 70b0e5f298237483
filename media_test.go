package runlog_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/runfmt"
)

// richRecords returns the text, histogram and media records of a run.log.
func richRecords(t *testing.T, path string) (texts []runfmt.Text, hists []runfmt.Histogram, media []runfmt.Media) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := runfmt.NewReader(f, path)
	for {
		rec, err := r.Next()
		if err != nil {
			return
		}
		switch rec.Type {
		case runfmt.TypeText:
			x, err := rec.Text()
			must(t, err)
			texts = append(texts, x)
		case runfmt.TypeHistogram:
			x, err := rec.Histogram()
			must(t, err)
			hists = append(hists, x)
		case runfmt.TypeMedia:
			x, err := rec.Media()
			must(t, err)
			media = append(media, x)
		}
	}
}

func TestRichValues(t *testing.T) {
	t.Parallel()
	run, err := runlog.Init(runlog.Options{Home: t.TempDir(), Name: "rich", DisableGit: true, URL: "-"})
	must(t, err)
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 2, color.RGBA{255, 0, 0, 255})
	must(t, run.LogText(800, "sample", "Once <script>alert(1)</script> \xff"))
	must(t, run.LogHistogram(800, "grads", []float64{0, 1, 1, 2, math.NaN(), math.Inf(1), math.Inf(-1)}, 2))
	must(t, run.LogImage(800, "val/samples", img, "epoch 3"))
	must(t, run.LogImage(900, "val/samples", img, "")) // the same bytes: the same file
	must(t, run.LogHTML(900, "../page", "<script>alert(1)</script>"))
	tab := runlog.NewTable("prompt", "score", "pic")
	must(t, tab.AddRow("<b>a</b>", math.NaN(), img))
	must(t, tab.AddRow("b", 2, nil))
	must(t, run.LogTable(900, "table", tab))
	must(t, run.Finish(0))

	texts, hists, media := richRecords(t, filepath.Join(run.Dir(), "run.log"))
	if len(texts) != 1 || texts[0].Text != "Once <script>alert(1)</script> \uFFFD" || texts[0].Step != 800 {
		t.Errorf("texts: %+v", texts)
	}
	if len(hists) != 1 || hists[0].NaN != 1 || hists[0].Inf != 1 || hists[0].NInf != 1 ||
		!equalFloats(hists[0].Counts, []float64{1, 3}) || !equalFloats(hists[0].Edges, []float64{0, 1, 2}) {
		t.Errorf("histograms: %+v", hists)
	}
	if len(media) != 4 {
		t.Fatalf("%d media records, want 4", len(media))
	}
	im, im2, page, table := media[0], media[1], media[2], media[3]
	data, err := os.ReadFile(filepath.Join(run.Dir(), filepath.FromSlash(im.Path)))
	must(t, err)
	sum := sha256.Sum256(data)
	if im.Path != "media/val%2Fsamples/800-"+hex.EncodeToString(sum[:8])+".png" || im.SHA256 != hex.EncodeToString(sum[:]) ||
		im.Size != int64(len(data)) || im.Width != 4 || im.Height != 3 || im.Caption != "epoch 3" || im2.Path != im.Path || im2.Step != 900 {
		t.Errorf("images: %+v, %+v", im, im2)
	}
	dec, err := png.Decode(bytes.NewReader(data))
	must(t, err)
	if r, _, _, _ := dec.At(1, 2).RGBA(); r>>8 != 255 {
		t.Errorf("pixel (1, 2) of the PNG is not red")
	}
	if !strings.HasPrefix(page.Path, "media/%2E.%2Fpage/900-") || page.Kind != runfmt.MediaHTML {
		t.Errorf("html: %+v", page)
	}
	if b, _ := os.ReadFile(filepath.Join(run.Dir(), filepath.FromSlash(page.Path))); string(b) != "<script>alert(1)</script>" {
		t.Errorf("html file holds %q", b)
	}
	var doc struct {
		Columns []string
		Data    [][]any
	}
	b, err := os.ReadFile(filepath.Join(run.Dir(), filepath.FromSlash(table.Path)))
	must(t, err)
	must(t, json.Unmarshal(b, &doc))
	if table.Rows != 2 || len(doc.Data) != 2 || doc.Data[0][0] != "<b>a</b>" || doc.Data[0][1] != "NaN" || doc.Data[1][2] != nil {
		t.Errorf("table %+v: %s", table, b)
	}
	cell, _ := doc.Data[0][2].(map[string]any)["image"].(map[string]any)
	if want := "media/table/900-" + im.SHA256[:16] + ".png"; cell["path"] != want || cell["sha256"] != im.SHA256 {
		t.Errorf("table image cell %v, want path %s", cell, want)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRichValuesBadInput(t *testing.T) {
	t.Parallel()
	run, err := runlog.Init(runlog.Options{Home: t.TempDir(), DisableGit: true, URL: "-"})
	must(t, err)
	defer run.Finish(0)
	for name, err := range map[string]error{
		"image over the limit": run.LogImage(0, "big", image.NewGray(image.Rect(0, 0, 20000, 1)), ""),
		"too many bins":        run.LogHistogram(0, "h", []float64{1}, 513),
		"bad key":              run.LogText(0, "", "x"),
	} {
		if !errors.Is(err, runlog.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := run.LogImage(0, "big", image.NewGray(image.Rect(0, 0, 5000, 5000)), ""); err == nil || !strings.Contains(err.Error(), "16777216 pixels") {
		t.Errorf("image of 25 Mpx: %v, want the limit in the message", err)
	}
	tab := runlog.NewTable("prompt", "sample", "score")
	if err := tab.AddRow("a", "b"); err == nil || !strings.Contains(err.Error(), `no cell for column "score"`) {
		t.Errorf("short row: %v", err)
	}
	if err := tab.AddRow("a", "b", struct{}{}); err == nil || !strings.Contains(err.Error(), `column "score"`) {
		t.Errorf("bad cell: %v", err)
	}
}
