package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// mediaHome returns a home with the three runs of a sweep (group "lr",
// runs a, b and c) that logged a text sample every 400 steps (b skipped
// step 800), val_loss, an image key and a histogram; run a also a table
// with an image cell and a text with escape sequences.
func mediaHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	start := 1764201600.0
	for i, name := range []string{"a", "b", "c"} {
		id := fmt.Sprintf("med%da000", i)
		l := runfmttest.New(runfmt.Header{Format: 1, ID: id, Name: "lr-" + name, Project: "tiny", Group: "lr", Time: start})
		dir := layout.RunDir(home, id)
		for _, step := range []int64{0, 400, 800, 1200} {
			tm := start + float64(step)
			l.Point(step, tm, "val_loss", 3-float64(step)/1000-float64(i)/10)
			if name == "b" && step == 800 {
				continue
			}
			l.JSON(runfmt.TypeText, runfmt.Text{Key: "sample", Step: step, Time: tm,
				Text: fmt.Sprintf("Run %s at step %d: once upon a time there was a little model that learned to write stories about dragons.", name, step)})
			png := pngBytes(t, 4+i, 3)
			l.JSON(runfmt.TypeMedia, writeMedia(t, dir, "val/samples", step, tm, png, "png", runfmt.Media{Kind: runfmt.MediaImage, Format: "png", Width: 4 + i, Height: 3}))
		}
		l.JSON(runfmt.TypeHistogram, runfmt.Histogram{Key: "grad_norm/layer0", Step: 1200, Time: start + 1200,
			Edges: []float64{0, 0.5, 1}, Counts: []float64{3, 1}, Inf: 1})
		if name == "a" {
			cell := pngBytes(t, 2, 2)
			sum := sha256.Sum256(cell)
			cellPath := runfmt.MediaPath("preds", 1200, hex.EncodeToString(sum[:]), "png")
			writeFile(t, filepath.Join(dir, cellPath), cell)
			table := fmt.Sprintf(`{"columns":["prompt","picture"],"data":[["<script>alert(1)</script>",{"image":{"path":%q,"width":2,"height":2,"sha256":%q}}]]}`, cellPath, hex.EncodeToString(sum[:]))
			l.JSON(runfmt.TypeMedia, writeMedia(t, dir, "preds", 1200, start+1200, []byte(table), runfmt.TableExt, runfmt.Media{Kind: runfmt.MediaTable, Format: "json", Rows: 1, Columns: []string{"prompt", "picture"}}))
			l.JSON(runfmt.TypeText, runfmt.Text{Key: "raw", Step: 5, Time: start + 5, Text: "red \x1b[31mALERT\x1b[0m and \x1b]0;title\x07 <b>bold</b>"})
		}
		l.Finish(start+1300).WriteRun(t, home, id)
	}
	return home
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, 0, color.RGBA{uint8(40 * x), 0, 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeMedia writes data as a media file of the run folder dir the way the
// clients do and returns its record.
func writeMedia(t *testing.T, dir, key string, step int64, tm float64, data []byte, ext string, m runfmt.Media) runfmt.Media {
	t.Helper()
	sum := sha256.Sum256(data)
	m.Key, m.Step, m.Time = key, step, tm
	m.SHA256 = hex.EncodeToString(sum[:])
	m.Size = int64(len(data))
	m.Path = runfmt.MediaPath(key, step, m.SHA256, ext)
	writeFile(t, filepath.Join(dir, filepath.FromSlash(m.Path)), data)
	return m
}

// runTTY runs the command as on a terminal of cols columns.
func runTTY(t *testing.T, home string, cols int, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: time.Now, tty: true, cols: cols}
	root := newRoot(e)
	root.SetArgs(append([]string{"--home", home}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("runlog %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// golden compares out with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, out string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		writeFile(t, path, []byte(out))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != out {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s\nwant:\n%s", path, out, want)
	}
}

func TestCompareText(t *testing.T) {
	home := mediaHome(t)
	tests := []struct {
		name   string
		cols   int // 0: not a terminal
		args   []string
		golden string
	}{
		{"terminal, wide: columns", 120, []string{"--at-step", "800"}, "compare_text_wide.golden"},
		{"terminal, narrow: blocks", 60, []string{"--at-step", "800"}, "compare_text_narrow.golden"},
		{"pipe: blocks, the last texts", 0, nil, "compare_text_pipe.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"compare", "lr-a", "lr-b", "lr-c", "--text", "sample"}, tt.args...)
			var out string
			if tt.cols > 0 {
				out = runTTY(t, home, tt.cols, args...)
			} else {
				out = mustRun(t, home, args...)
			}
			golden(t, tt.golden, out)
			for _, line := range strings.Split(out, "\n") {
				if tt.cols > 0 && len([]rune(line)) > tt.cols {
					t.Errorf("line wider than %d columns: %q", tt.cols, line)
				}
			}
		})
	}

	// The step used is said: b has no sample at 800, its nearest is 400.
	out := mustRun(t, home, "compare", "lr-a", "lr-b", "--text", "sample", "--at-step", "900")
	for _, want := range []string{"lr-a (med0a000) · step 800 (nearest ≤ 900)", "lr-b (med1a000) · step 400 (nearest ≤ 900)", "Run b at step 400"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare --text --at-step 900 lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, home, "compare", "lr-a", "--text", "sample", "--at-step", "0", "--json")
	var js []struct {
		AtStep *int64 `json:"at_step"`
		Runs   []struct {
			ID   string  `json:"id"`
			Step *int64  `json:"step"`
			Text *string `json:"text"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || len(js) != 1 || len(js[0].Runs) != 1 || *js[0].Runs[0].Step != 0 ||
		!strings.HasPrefix(*js[0].Runs[0].Text, "Run a at step 0:") {
		t.Errorf("compare --text --json: %v\n%s", err, out)
	}

	// Escape sequences in a text are shown, not obeyed.
	out = runTTY(t, home, 100, "compare", "lr-a", "--text", "raw")
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, "red ␛[31mALERT␛[0m and ␛]0;title␇ <b>bold</b>") {
		t.Errorf("a text with escape sequences is printed as %q", out)
	}

	_, errOut, err := run(t, home, "compare", "lr-a", "--text", "nothing")
	if err != nil || !strings.Contains(errOut, `no run named logged a text under "nothing"`) {
		t.Errorf("a key no run has: %v, warnings %q", err, errOut)
	}
	if _, _, err := run(t, home, "compare", "lr-a", "--text", "sample", "--markdown"); err == nil {
		t.Error("--text --markdown: no error")
	}
}

func TestShowMedia(t *testing.T) {
	home := mediaHome(t)
	out := runTTY(t, home, 100, "show", "lr-a", "--chart", "none")
	i := strings.Index(out, "\nmedia\n")
	if i < 0 {
		t.Fatalf("show lists no media:\n%s", out)
	}
	media := out[i:]
	if j := strings.Index(media[1:], "\n\n"); j >= 0 {
		media = media[:j+1]
	}
	golden(t, "show_media.golden", media)
	if strings.Contains(out, "\x1b[31mALERT") || strings.Contains(out, "\x07") {
		t.Errorf("show prints an escape sequence of a run's text:\n%q", out)
	}

	var js struct {
		Media []struct {
			Key      string `json:"key"`
			Kind     string `json:"kind"`
			Count    int64  `json:"count"`
			LastText string `json:"last_text"`
		} `json:"media"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, home, "show", "lr-b", "--json")), &js); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range js.Media {
		got = append(got, fmt.Sprintf("%s:%s:%d", m.Key, m.Kind, m.Count))
	}
	if want := "grad_norm/layer0:histogram:1 sample:text:3 val/samples:image:3"; strings.Join(got, " ") != want {
		t.Errorf("show --json media %v, want %s", got, want)
	}
}

func TestExportMedia(t *testing.T) {
	home := mediaHome(t)
	outDir := t.TempDir()
	out := mustRun(t, home, "export", "lr-a", "-o", outDir, "--plots=false")
	if !strings.Contains(out, filepath.Join(outDir, "media.json")) || !strings.Contains(out, "(6 media files)") {
		t.Errorf("export prints:\n%s", out)
	}
	var idx struct {
		ID    string `json:"id"`
		Media []struct {
			Key    string    `json:"key"`
			Step   int64     `json:"step"`
			Kind   string    `json:"kind"`
			Path   string    `json:"path"`
			SHA256 string    `json:"sha256"`
			Size   int64     `json:"size"`
			Width  int       `json:"width"`
			Rows   int       `json:"rows"`
			Text   *string   `json:"text"`
			Counts []float64 `json:"counts"`
			Inf    int64     `json:"inf"`
			Images []string  `json:"images"`
		} `json:"media"`
	}
	data, err := os.ReadFile(filepath.Join(outDir, "media.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("media.json: %v\n%s", err, data)
	}
	kinds := map[string]int{}
	for _, m := range idx.Media {
		kinds[m.Kind]++
		switch m.Kind {
		case runfmt.MediaImage, runfmt.MediaTable:
			b, err := os.ReadFile(filepath.Join(outDir, filepath.FromSlash(m.Path)))
			sum := sha256.Sum256(b)
			if err != nil || hex.EncodeToString(sum[:]) != m.SHA256 || int64(len(b)) != m.Size {
				t.Errorf("%s at step %d: the copy %s (%v) is not the file logged", m.Key, m.Step, m.Path, err)
			}
			if m.Kind == runfmt.MediaTable && (m.Rows != 1 || len(m.Images) != 1) {
				t.Errorf("table %+v: want 1 row and its image cell", m)
			}
		case runfmt.MediaText:
			if m.Text == nil {
				t.Errorf("text %s at %d without its text", m.Key, m.Step)
			}
		case runfmt.MediaHistogram:
			if len(m.Counts) != 2 || m.Inf != 1 {
				t.Errorf("histogram %+v", m)
			}
		}
	}
	if idx.ID != "med0a000" || kinds["image"] != 4 || kinds["table"] != 1 || kinds["text"] != 5 || kinds["histogram"] != 1 {
		t.Errorf("media.json of run %s holds %v", idx.ID, kinds)
	}
	for _, m := range idx.Media {
		if m.Kind == runfmt.MediaTable {
			if _, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(m.Images[0]))); err != nil {
				t.Errorf("the table's image cell was not copied: %v", err)
			}
		}
	}

	// A file changed after it was logged is left out with a warning; the rest is exported.
	runDir := layout.RunDir(home, "med1a000")
	matches, _ := filepath.Glob(filepath.Join(runDir, "media", "val%2Fsamples", "400-*.png"))
	if len(matches) != 1 {
		t.Fatalf("media files of b at 400: %v", matches)
	}
	os.WriteFile(matches[0], []byte("not the image"), 0o644)
	outDir = t.TempDir()
	_, errOut, err := run(t, home, "export", "lr-b", "-o", outDir, "--plots=false")
	if err != nil || !strings.Contains(errOut, "400-") || !strings.Contains(errOut, "the file changed after it was logged") {
		t.Errorf("a changed file: %v, warnings %q", err, errOut)
	}
	data, _ = os.ReadFile(filepath.Join(outDir, "media.json"))
	if !strings.Contains(string(data), `"missing":`) || strings.Count(string(data), `"kind":"image"`) != 3 {
		t.Errorf("media.json after a changed file:\n%s", data)
	}

	// Into the run folder: the index only, the files are already there.
	out = mustRun(t, home, "export", "lr-c", "--plots=false")
	if !strings.Contains(out, filepath.Join(layout.RunDir(home, "med2a000"), "media.json")) || strings.Contains(out, "media files") {
		t.Errorf("export into the run folder prints:\n%s", out)
	}
}

func TestReportSamples(t *testing.T) {
	home := mediaHome(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "EXPERIMENT_LOG.md")
	mustRun(t, home, "report", "lr-a", "lr-b", "-o", file, "--no-plots")
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{
		"**Samples**",
		"Last `sample` (step 1200 of 4 texts):\n\n```text\nRun a at step 1200: once upon a time",
		"Last `sample` (step 1200 of 3 texts):\n\n```text\nRun b at step 1200:",
		"```text\nred ␛[31mALERT␛[0m and ␛]0;title␇ <b>bold</b>\n```",
		"![val/samples at step 1200](",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// Each image link leads, relative to the report, to the run's last image.
	for _, id := range []string{"med0a000", "med1a000"} {
		i := strings.Index(s, "](../")
		if i < 0 {
			t.Fatalf("no relative image link in:\n%s", s)
		}
		end := strings.IndexByte(s[i:], ')')
		link := s[i+2 : i+end]
		s = s[i+end:]
		rel := strings.ReplaceAll(link, "%25", "%")
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil || !strings.Contains(link, id) || !strings.Contains(link, "/1200-") {
			t.Errorf("image link %q of run %s: %v", link, id, err)
		}
	}
}
