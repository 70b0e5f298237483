package mlflow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// TestRealClientMedia logs images (log_image with key and step, and with
// artifact_file), a text, dicts and a table with image cells through the
// unmodified MLflow client (testdata/mlflow_media_client_test.py): each is
// an artifact as MLflow stores it and a rich value of runlog's, whose
// files are complete copies under media/.
func TestRealClientMedia(t *testing.T) {
	python := clientPython(t)
	st, home, url := serveRunlog(t, "", nil)
	var res struct{ Run string }
	runClientScript(t, python, "mlflow_media_client_test.py", url, home, buildRunlog(t), &res)
	ctx := t.Context()
	r, err := st.Run(ctx, res.Run)
	if err != nil {
		t.Fatal(err)
	}
	imgs, _, err := st.Media(ctx, r.ID, "val/samples", store.MediaQuery{})
	if err != nil || len(imgs) != 2 || imgs[0].Step != 0 || imgs[1].Step != 100 || imgs[0].Width != 8 || imgs[0].Height != 6 || imgs[0].Format != "png" {
		t.Fatalf("val/samples: %+v, %v", imgs, err)
	}
	step := int64(100)
	tables, _, err := st.Media(ctx, r.ID, "preds", store.MediaQuery{AtOrBefore: &step})
	if err != nil || len(tables) != 1 || tables[0].Kind != runfmt.MediaTable || tables[0].Rows != 2 ||
		strings.Join(tables[0].Columns, ",") != "prompt,score,picture" {
		t.Fatalf("preds: %+v, %v", tables, err)
	}
	// The table is runlog's: image cells point at files under media/.
	var doc struct {
		Data [][]json.RawMessage `json:"data"`
	}
	raw, err := os.ReadFile(filepath.Join(r.Path, filepath.FromSlash(tables[0].Path)))
	if err != nil || json.Unmarshal(raw, &doc) != nil || len(doc.Data) != 2 {
		t.Fatalf("table file %s: %v\n%s", tables[0].Path, err, raw)
	}
	var cell struct {
		Image struct {
			Path  string `json:"path"`
			Width int    `json:"width"`
		} `json:"image"`
	}
	if json.Unmarshal(doc.Data[1][2], &cell) != nil || cell.Image.Width != 3 || runfmt.CheckMediaPath(cell.Image.Path) != nil {
		t.Errorf("image cell %s", doc.Data[1][2])
	} else if _, err := os.Stat(filepath.Join(r.Path, filepath.FromSlash(cell.Image.Path))); err != nil {
		t.Errorf("image cell's file: %v", err)
	}
	var text string
	if json.Unmarshal(doc.Data[1][0], &text) != nil || text != "<b>bold</b>" {
		t.Errorf("a string cell: %s", doc.Data[1][0])
	}
	for _, m := range append(imgs, tables...) {
		if _, err := os.Stat(filepath.Join(r.Path, filepath.FromSlash(m.Path))); err != nil {
			t.Errorf("%s: %v", m.Path, err)
		}
	}
}
