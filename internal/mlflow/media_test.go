package mlflow

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// TestArtifactValue: which uploaded artifacts become which rich values,
// under which key and step.
func TestArtifactValue(t *testing.T) {
	var pic bytes.Buffer
	png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 3, 2)))
	files := map[string][]byte{
		"images/val~samples+step+800+timestamp+1764201600000+0b7f3c2e-1d4a-4c1b-9d7e-5a1f2b3c4d5e.png": pic.Bytes(),
		"images/old%step%7%timestamp%1%abc.png":                                                        pic.Bytes(),
		"images/val~samples+step+800+timestamp+1764201600000+0b7f3c2e+compressed.webp":                 []byte("RIFF"),
		"table_images/preds/0b7f.png":                                                                  pic.Bytes(),
		"plots/curve.png":                                                                              pic.Bytes(),
		"plots/broken.png":                                                                             []byte("not a png"),
		"story.txt":                                                                                    []byte("Once upon a time"),
		"latin1.txt":                                                                                   {'c', 'a', 'f', 0xe9},
		"config.json":                                                                                  []byte(`{"lr": 0.1}`),
		"preds.json":                                                                                   []byte(`{"columns": ["a", 2], "data": [[1, {"x": 1}], ["s", null]]}`),
		"bad_table.json":                                                                               []byte(`{"columns": ["a", "b"], "data": [[1]]}`),
		"model.ckpt":                                                                                   []byte("weights"),
	}
	read := func(rel string) ([]byte, bool) {
		data, ok := files[rel]
		return data, ok
	}
	run := store.Run{ID: "r", MaxStep: 42}
	tests := []struct {
		rel       string
		kind, key string // "" kind: no rich value
		step      int64
	}{
		{"images/val~samples+step+800+timestamp+1764201600000+0b7f3c2e-1d4a-4c1b-9d7e-5a1f2b3c4d5e.png", runfmt.MediaImage, "val/samples", 800},
		{"images/old%step%7%timestamp%1%abc.png", runfmt.MediaImage, "old", 7},
		{"images/val~samples+step+800+timestamp+1764201600000+0b7f3c2e+compressed.webp", "", "", 0},
		{"table_images/preds/0b7f.png", "", "", 0},
		{"plots/curve.png", runfmt.MediaImage, "plots/curve", 42},
		{"plots/broken.png", "", "", 0},
		{"story.txt", runfmt.MediaText, "story", 42},
		{"latin1.txt", "", "", 0},
		{"config.json", runfmt.MediaText, "config", 42},
		{"preds.json", runfmt.MediaTable, "preds", 42},
		{"bad_table.json", runfmt.MediaText, "bad_table", 42},
		{"model.ckpt", "", "", 0},
	}
	for _, tt := range tests {
		v := artifactValue(read, run, tt.rel, 1764201600)
		kind, key, step := "", "", int64(0)
		switch {
		case v == nil:
		case v.text != nil:
			kind, key, step = runfmt.MediaText, v.text.Key, v.text.Step
		default:
			kind, key, step = v.media.Kind, v.media.Key, v.media.Step
		}
		if kind != tt.kind || key != tt.key || step != tt.step {
			t.Errorf("%s: %q %q step %d, want %q %q step %d", tt.rel, kind, key, step, tt.kind, tt.key, tt.step)
		}
		if kind == runfmt.MediaTable && (v.media.Rows != 2 || v.media.Columns[1] != "2" || !bytes.Contains(v.data, []byte(`"{\"x\": 1}"`))) {
			t.Errorf("%s: table %+v %s", tt.rel, v.media, v.data)
		}
	}
}
