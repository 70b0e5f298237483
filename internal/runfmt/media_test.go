package runfmt

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

func TestMediaDir(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("λ", 128) // 256 bytes, 768 escaped
	for _, tc := range []struct{ key, want string }{
		{"samples", "samples"},
		{"val/samples", "val%2Fsamples"},
		{"../x", "%2E.%2Fx"},
		{"..", "%2E."},
		{".", "%2E"},
		{"a.b-c_D9", "a.b-c_D9"},
		{"loss (smoothed) 100%", "loss%20%28smoothed%29%20100%25"},
		{"λ", "%CE%BB"},
		{`a\b`, "a%5Cb"},
		// Over 200 bytes: cut, never inside an escape, and the key's hash
		// (the Python client's test has the same cases).
		{strings.Repeat("a", 190) + "/" + strings.Repeat("b", 60), strings.Repeat("a", 183) + "~d778da9fecbd237d"},
		{strings.Repeat("λ", 128), strings.Repeat("%CE%BB", 30) + "%CE~8330ab49ba28dbf7"},
	} {
		if got := MediaDir(tc.key); got != tc.want {
			t.Errorf("MediaDir(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
	d := MediaDir(long)
	if len(d) > mediaDirMax || !strings.Contains(d, "~") || strings.Contains(d[:len(d)-MediaHashLen-1], "~") {
		t.Errorf("MediaDir of a long key = %q (%d bytes): want at most %d, cut before ~hash", d, len(d), mediaDirMax)
	}
	if i := strings.IndexByte(d, '~'); strings.LastIndexByte(d[:i], '%') > i-3 {
		t.Errorf("MediaDir of a long key cut inside an escape: %q", d)
	}
	if MediaDir(long) == MediaDir(long[:254]+"x") {
		t.Error("two long keys with the same first bytes share a folder")
	}
}

func TestMediaPath(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("ab", 32)
	if got, want := MediaPath("a/b", -1, sha, "png"), "media/a%2Fb/-1-abababababababab.png"; got != want {
		t.Errorf("MediaPath = %q, want %q", got, want)
	}
	if err := CheckMediaPath(MediaPath("../../etc", 3, sha, TableExt)); err != nil {
		t.Errorf("the path of a hostile key is refused: %v", err)
	}
}

func TestCheckMediaPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "media", "media/", "/media/a.png", "media/../run.log", "media/./a", "media//a", `media/a\..\b`, "artifacts/a.png", "media/a/..", "media/a\x00"} {
		if err := CheckMediaPath(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckMediaPath(%q) = %v, want ErrInvalid", p, err)
		}
	}
	for _, p := range []string{"media/a/1-00.png", "media/%2E.%2Fx/900-0a.html"} {
		if err := CheckMediaPath(p); err != nil {
			t.Errorf("CheckMediaPath(%q) = %v", p, err)
		}
	}
}

func TestHistogramCheck(t *testing.T) {
	t.Parallel()
	ok := func() Histogram {
		return Histogram{Key: "h", Time: 1, Edges: []float64{0, 1, 2}, Counts: []float64{1, 2}, NaN: 3}
	}
	for _, tc := range []struct {
		name string
		edit func(*Histogram)
		want string // in the error; "" for none
	}{
		{"valid", func(*Histogram) {}, ""},
		{"no bins", func(h *Histogram) { h.Counts, h.Edges = nil, []float64{0} }, "0 bins"},
		{"too many bins", func(h *Histogram) {
			h.Counts = make([]float64, MaxBins+1)
			h.Edges = make([]float64, MaxBins+2)
			for i := range h.Edges {
				h.Edges[i] = float64(i)
			}
		}, "513 bins"},
		{"edges short", func(h *Histogram) { h.Edges = h.Edges[:2] }, "needs 3"},
		{"edges not increasing", func(h *Histogram) { h.Edges[2] = 1 }, "must increase"},
		{"edge NaN", func(h *Histogram) { h.Edges[0] = math.NaN() }, "finite"},
		{"edge Inf", func(h *Histogram) { h.Edges[2] = math.Inf(1) }, "finite"},
		{"count NaN", func(h *Histogram) { h.Counts[0] = math.NaN() }, "count 0"},
		{"count negative", func(h *Histogram) { h.Counts[1] = -1 }, "count 1"},
		{"bad key", func(h *Histogram) { h.Key = "" }, "empty"},
	} {
		h := ok()
		tc.edit(&h)
		err := h.Check()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Check() = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// TestMediaFixture decodes the rich records of the shared fixture.
func TestMediaFixture(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/media.runlog")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(bytes.NewReader(data), "media")
	var texts []Text
	var hists []Histogram
	var media []Media
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Type {
		case TypeText:
			x, err := rec.Text()
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, x)
		case TypeHistogram:
			x, err := rec.Histogram()
			if err != nil {
				t.Fatal(err)
			}
			hists = append(hists, x)
		case TypeMedia:
			x, err := rec.Media()
			if err != nil {
				t.Fatal(err)
			}
			media = append(media, x)
		}
	}
	if len(texts) != 2 || texts[0].Step != 800 || !strings.Contains(texts[0].Text, "<script>") || texts[1].Text != "" {
		t.Errorf("texts: %+v", texts)
	}
	if len(hists) != 1 || hists[0].Inf != 1 || len(hists[0].Counts) != 4 || hists[0].Edges[4] != 1 {
		t.Errorf("histograms: %+v", hists)
	}
	if len(media) != 3 || media[0].Width != 256 || media[0].Index == nil || *media[0].Index != 0 ||
		media[1].Rows != 2 || len(media[1].Columns) != 3 || media[2].Kind != MediaHTML || media[1].Index != nil {
		t.Errorf("media: %+v", media)
	}
	for _, m := range media {
		if !strings.HasPrefix(m.Path, MediaFolder+"/"+MediaDir(m.Key)+"/") {
			t.Errorf("%s: path %q is not in MediaDir(%q) = %q", m.Key, m.Path, m.Key, MediaDir(m.Key))
		}
	}
}

func TestRecordMediaRefusesBadPaths(t *testing.T) {
	t.Parallel()
	rec := Record{Type: TypeMedia, Payload: []byte(`{"key":"k","step":1,"time":1,"kind":"image","path":"../run.log"}`)}
	if _, err := rec.Media(); !errors.Is(err, ErrInvalid) {
		t.Errorf("a media record naming ../run.log: %v, want ErrInvalid", err)
	}
	rec.Payload = []byte(`{"key":"k","step":1,"time":1,"kind":"video","path":"media/k/1-a.mp4"}`)
	if _, err := rec.Media(); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("an unknown kind: %v", err)
	}
	rec = Record{Type: TypeText, Payload: []byte("{\"key\":\"k\",\"step\":1,\"time\":1,\"text\":\"a\xffb\"}")}
	if x, err := rec.Text(); err != nil || x.Text != "a\uFFFDb" {
		t.Errorf("text with a bad byte: %q, %v; want it replaced by U+FFFD", x.Text, err)
	}
}

// FuzzMediaDir checks that no key names a folder outside media/: the
// folder is one plain path part, and the path built from it passes
// CheckMediaPath.
func FuzzMediaDir(f *testing.F) {
	for _, k := range []string{"samples", "../x", "..", "a/b", ".hidden", strings.Repeat("é", 200), "%2F"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		d := MediaDir(key)
		if d == "" && key != "" || d == "." || d == ".." || strings.ContainsAny(d, "/\\\x00") || len(d) > mediaDirMax {
			t.Fatalf("MediaDir(%q) = %q", key, d)
		}
		if key != "" {
			if err := CheckMediaPath(MediaPath(key, 0, strings.Repeat("0", 64), "png")); err != nil {
				t.Fatalf("MediaPath(%q): %v", key, err)
			}
		}
	})
}

// FuzzRichRecords decodes arbitrary payloads as text, histogram and media
// records: errors, never panics, and what decodes passes its checks.
func FuzzRichRecords(f *testing.F) {
	f.Add([]byte(`{"key":"h","step":1,"time":1,"edges":[0,1],"counts":[1]}`))
	f.Add([]byte(`{"key":"m","step":1,"time":1,"kind":"image","path":"media/m/1-0.png"}`))
	f.Add([]byte(`{"key":"t","step":1,"time":1,"text":"x"}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		if h, err := (Record{Type: TypeHistogram, Payload: p}).Histogram(); err == nil {
			if len(h.Edges) != len(h.Counts)+1 {
				t.Fatalf("histogram passed with %d edges, %d counts", len(h.Edges), len(h.Counts))
			}
		}
		if m, err := (Record{Type: TypeMedia, Payload: p}).Media(); err == nil {
			if CheckMediaPath(m.Path) != nil {
				t.Fatalf("media passed with path %q", m.Path)
			}
		}
		if x, err := (Record{Type: TypeText, Payload: p}).Text(); err == nil && !utf8Valid(x.Text) {
			t.Fatalf("text passed with invalid UTF-8 %q", x.Text)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestMediaFilesWrite(t *testing.T) {
	t.Parallel()
	f := &MediaFiles{Dir: t.TempDir()}
	a := Media{Key: "../x", Step: 3}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.Write(&a, []byte("<p>x</p>"), "html"))
	b := Media{Key: "../x", Step: 9}
	must(f.Write(&b, []byte("<p>x</p>"), "html"))
	c := Media{Key: "other", Step: 9}
	must(f.Write(&c, []byte("<p>x</p>"), "html"))
	if !strings.HasPrefix(a.Path, "media/%2E.%2Fx/3-") || b.Path != a.Path || a.Size != 8 || len(a.SHA256) != 64 || !strings.HasPrefix(c.Path, "media/other/9-") {
		t.Errorf("paths %q %q %q, size %d", a.Path, b.Path, c.Path, a.Size)
	}
	if data, err := os.ReadFile(f.Dir + "/" + a.Path); err != nil || string(data) != "<p>x</p>" {
		t.Errorf("file: %q, %v", data, err)
	}
}

func TestCutText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxValueText/2+1)
	if got := CutText(long); len(got) != MaxValueText || !utf8Valid(got) {
		t.Errorf("CutText of %d bytes: %d bytes", len(long), len(got))
	}
	if got := CutText("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("CutText(a\\xffb) = %q", got)
	}
}
