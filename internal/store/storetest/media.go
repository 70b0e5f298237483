package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

func text(seq uint64, key string, step int64, s string) store.MediaEntry {
	return store.MediaEntry{Seq: seq, Text: s, Media: runfmt.Media{Key: key, Step: step, Time: T0 + float64(seq), Kind: runfmt.MediaText}}
}

func image(seq uint64, key string, step int64, index *int) store.MediaEntry {
	return store.MediaEntry{Seq: seq, Media: runfmt.Media{Key: key, Step: step, Time: T0 + float64(seq), Kind: runfmt.MediaImage,
		Path: runfmt.MediaPath(key, step, strings.Repeat("ab", 32), "png"), Size: 100 + int64(seq), SHA256: strings.Repeat("ab", 32),
		Format: "png", Width: 4, Height: 3, Caption: "<b>not markup</b>", Index: index}}
}

// testMedia writes texts, images, a table and histograms over two streams
// and reads them back by key, at a step and page by page.
func testMedia(t *testing.T, s store.Store) {
	w := newWriter(t, s, "r")
	w.header("r", "p")
	zero, one := 0, 1
	table := store.MediaEntry{Seq: 20, Media: runfmt.Media{Key: "val/table", Step: 200, Time: T0 + 20, Kind: runfmt.MediaTable,
		Path: "media/val%2Ftable/200-00.table.json", Size: 42, SHA256: strings.Repeat("0", 64), Format: "json", Rows: 2, Columns: []string{"a", "<script>"}}}
	w.write(func(b *store.Batch) {
		b.Media = []store.MediaEntry{
			text(2, "sample", 0, "first"),
			text(3, "sample", 100, "<script>alert(1)</script>"),
			image(4, "imgs", 100, &zero),
			image(5, "imgs", 100, &one),
			text(6, "sample", 100, "second at 100"),
			image(7, "imgs", 300, nil),
			table,
			text(9, "imgs", 50, "a text among images"),
		}
		b.Histograms = []store.Histogram{
			{Seq: 8, Histogram: runfmt.Histogram{Key: "grad", Step: 0, Time: T0, Edges: []float64{0, 1, 2}, Counts: []float64{1, 2}, NaN: 3, Inf: 1, NInf: 2}},
		}
	})
	// A second stream (an attached process) adds to the same keys.
	w2 := &writer{t: t, s: s, id: "r", stream: "run.py-1-0.log"}
	w2.write(func(b *store.Batch) {
		b.Media = []store.MediaEntry{text(1, "sample", 500, "last")}
		for i := range 9 {
			b.Histograms = append(b.Histograms, store.Histogram{Seq: uint64(10 + i), Histogram: runfmt.Histogram{
				Key: "grad", Step: int64(100 * (i + 1)), Time: T0 + 100, Edges: []float64{0, float64(i + 1)}, Counts: []float64{float64(i)}}})
		}
	})

	keys, err := s.MediaKeys(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []store.MediaKey{
		{Key: "grad", Kind: runfmt.MediaHistogram, Count: 10, FirstStep: 0, LastStep: 900},
		{Key: "imgs", Kind: runfmt.MediaImage, Count: 3, FirstStep: 100, LastStep: 300},
		{Key: "imgs", Kind: runfmt.MediaText, Count: 1, FirstStep: 50, LastStep: 50, LastText: "a text among images"},
		{Key: "sample", Kind: runfmt.MediaText, Count: 4, FirstStep: 0, LastStep: 500, LastText: "last"},
		{Key: "val/table", Kind: runfmt.MediaTable, Count: 1, FirstStep: 200, LastStep: 200},
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("MediaKeys:\n got %+v\nwant %+v", keys, wantKeys)
	}

	at := func(step int64) *int64 { return &step }
	for _, tc := range []struct {
		name string
		key  string
		q    store.MediaQuery
		want []uint64 // seqs
		more bool
	}{
		{"at a logged step: every value there, in the order logged", "sample", store.MediaQuery{AtOrBefore: at(100)}, []uint64{3, 6}, false},
		{"between steps: the step before", "sample", store.MediaQuery{AtOrBefore: at(499)}, []uint64{3, 6}, false},
		{"before the first step: none", "sample", store.MediaQuery{AtOrBefore: at(-1)}, nil, false},
		{"a list of images at one step", "imgs", store.MediaQuery{AtOrBefore: at(250)}, []uint64{4, 5}, false},
		{"a page never splits a step", "sample", store.MediaQuery{Limit: 2}, []uint64{2, 3, 6}, true},
		{"the next page", "sample", store.MediaQuery{From: 101, Limit: 2}, []uint64{1}, false},
		{"all", "imgs", store.MediaQuery{}, []uint64{9, 4, 5, 7}, false},
		{"one kind at or before a step", "imgs", store.MediaQuery{AtOrBefore: at(250), Kind: runfmt.MediaText}, []uint64{9}, false},
		{"one kind, page by page", "imgs", store.MediaQuery{Kind: runfmt.MediaImage, Limit: 1}, []uint64{4, 5}, true},
		{"an unknown key", "nope", store.MediaQuery{}, nil, false},
	} {
		got, more, err := s.Media(ctx, "r", tc.key, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var seqs []uint64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if !reflect.DeepEqual(seqs, tc.want) || more != tc.more {
			t.Errorf("%s: Media(%q, %+v) = seqs %v, more %v; want %v, %v", tc.name, tc.key, tc.q, seqs, more, tc.want, tc.more)
		}
	}
	got, _, _ := s.Media(ctx, "r", "imgs", store.MediaQuery{AtOrBefore: at(100)})
	if want := image(4, "imgs", 100, &zero); len(got) == 0 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("image entry:\n got %+v\nwant %+v", got, want)
	}
	got, _, _ = s.Media(ctx, "r", "val/table", store.MediaQuery{})
	if len(got) != 1 || !reflect.DeepEqual(got[0], table) {
		t.Errorf("table entry:\n got %+v\nwant %+v", got, table)
	}
	got, _, _ = s.Media(ctx, "r", "sample", store.MediaQuery{AtOrBefore: at(100)})
	if len(got) == 0 || got[0].Text != "<script>alert(1)</script>" || got[0].Kind != runfmt.MediaText || got[0].Key != "sample" {
		t.Errorf("text entry kept as data: %+v", got)
	}

	hs, total, err := s.Histograms(ctx, "r", "grad", 0)
	if err != nil || total != 10 || len(hs) != 10 {
		t.Fatalf("Histograms: %d of %d, %v", len(hs), total, err)
	}
	want0 := store.Histogram{Seq: 8, Histogram: runfmt.Histogram{Key: "grad", Step: 0, Time: T0, Edges: []float64{0, 1, 2}, Counts: []float64{1, 2}, NaN: 3, Inf: 1, NInf: 2}}
	if !reflect.DeepEqual(hs[0], want0) {
		t.Errorf("histogram:\n got %+v\nwant %+v", hs[0], want0)
	}
	hs, total, _ = s.Histograms(ctx, "r", "grad", 4)
	var steps []int64
	for _, h := range hs {
		steps = append(steps, h.Step)
	}
	// Positions round(i·9/3) = 0, 3, 6, 9.
	if total != 10 || !reflect.DeepEqual(steps, []int64{0, 300, 600, 900}) {
		t.Errorf("4 of 10 histograms: steps %v (total %d), want [0 300 600 900]", steps, total)
	}
	if hs, total, _ := s.Histograms(ctx, "r", "nope", 10); len(hs) != 0 || total != 0 {
		t.Errorf("an unknown histogram key: %d of %d", len(hs), total)
	}

	if err := s.DeleteRun(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.MediaKeys(ctx, "r"); len(keys) != 0 {
		t.Errorf("a deleted run keeps media keys %+v", keys)
	}
	if _, total, _ := s.Histograms(ctx, "r", "grad", 0); total != 0 {
		t.Errorf("a deleted run keeps %d histograms", total)
	}
}
