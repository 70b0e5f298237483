package ingest_test

import (
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
)

// TestIndexMediaFixture indexes the shared fixture of rich values: texts,
// a histogram, an image, a table and HTML under a hostile key.
func TestIndexMediaFixture(t *testing.T) {
	t.Parallel()
	home := homeWith(t, "m4d1a0zz", fixture(t, "media"))
	st := openStore(t, home)
	if _, warns := index(t, st, home); len(warns) > 0 {
		t.Fatalf("warnings: %v", warns)
	}
	keys, err := st.MediaKeys(ctx, "m4d1a0zz")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Key+":"+k.Kind)
	}
	if want := "../x:html grad_norm/layer0:histogram sample:text samples:image val/table:table"; strings.Join(got, " ") != want {
		t.Errorf("keys %v, want %s", got, want)
	}
	step := int64(850)
	texts, _, _ := st.Media(ctx, "m4d1a0zz", "sample", store.MediaQuery{AtOrBefore: &step})
	if len(texts) != 1 || !strings.Contains(texts[0].Text, "<script>alert(1)</script>") {
		t.Errorf("text at step 850: %+v", texts)
	}
	hs, _, _ := st.Histograms(ctx, "m4d1a0zz", "grad_norm/layer0", 0)
	if len(hs) != 1 || hs[0].Inf != 1 || hs[0].Counts[1] != 10 {
		t.Errorf("histograms: %+v", hs)
	}
	imgs, _, _ := st.Media(ctx, "m4d1a0zz", "samples", store.MediaQuery{})
	if len(imgs) != 1 || imgs[0].Width != 256 || imgs[0].Path != "media/samples/800-3f2a9c0e1b4d5a6f.png" {
		t.Errorf("images: %+v", imgs)
	}
}

// TestBadRichRecordsSkipped: a histogram that breaks the rules and a media
// record whose path leaves media/ are skipped with a warning; the rest is
// indexed.
func TestBadRichRecordsSkipped(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	runfmttest.New(runfmt.Header{Format: 1, ID: "bad", Time: 1764201600}).
		JSON(runfmt.TypeHistogram, runfmt.Histogram{Key: "h", Step: 1, Time: 1764201601, Edges: []float64{1, 0}, Counts: []float64{1}}).
		JSON(runfmt.TypeMedia, runfmt.Media{Key: "m", Step: 1, Time: 1764201601, Kind: "image", Path: "../../etc/passwd"}).
		JSON(runfmt.TypeText, runfmt.Text{Key: "t", Step: 1, Time: 1764201601, Text: "kept"}).
		WriteRun(t, home, "bad")
	st := openStore(t, home)
	_, warns := index(t, st, home)
	if len(warns) != 2 || !strings.Contains(warns[0].Error(), "must increase") || !strings.Contains(warns[1].Error(), "not under media/") {
		t.Errorf("warnings: %v", warns)
	}
	keys, _ := st.MediaKeys(ctx, "bad")
	if len(keys) != 1 || keys[0].Key != "t" || keys[0].LastText != "kept" {
		t.Errorf("keys: %+v", keys)
	}
}
