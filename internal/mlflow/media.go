package mlflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif"  // images uploaded as artifacts may be GIFs …
	_ "image/jpeg" // … or JPEGs
	_ "image/png"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/mlflow/mlbackend"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// Rich values from artifacts. The MLflow client's log_image, log_text,
// log_table and log_dict upload a file as an artifact; that file is kept
// in artifacts/ as MLflow stores it, and also becomes runlog's rich value,
// so that the run page, `runlog show` and `runlog compare --text` show it:
//
//   - an image (.png, .jpg, .jpeg, .gif) becomes an image: under the key
//     and step that log_image(image, key=…, step=…) puts in the file's name
//     (images/<key, / as ~>+step+<step>+timestamp+…+<uuid>.png; older
//     clients wrote % for +), else under the file's path less its
//     extension at the run's last step. log_image's "+compressed" WebP
//     copies and log_table's table_images/ are left as artifacts;
//   - a .txt (log_text) becomes a text;
//   - a .json holding {"columns": […], "data": [[…]…]} (log_table) becomes
//     a table, its image cells ({"type": "image", "filepath": …}) runlog's
//     image cells;
//   - any other .json, .yaml or .yml (log_dict) becomes a text, the
//     document as it was uploaded.
//
// The key of a file is its artifact path less its extension, the step the
// run's last step (0 before any). A file that is not what its name says
// (an image that does not decode, over runlog's pixel limits; a text over
// 1 MiB or not UTF-8) stays an artifact only. Image and table files are
// copied under media/ (the run stays complete on its own), through the
// backend like the artifact itself (Backend.WriteMedia).

// Limits of what an artifact upload reads to make its rich value.
const maxMediaArtifact = 64 << 20

// mediaImageName is the name log_image(key=…, step=…) gives its file.
var mediaImageName = regexp.MustCompile(`^images/(.+?)[+%]step[+%](\d+)[+%]timestamp[+%]\d+[+%][0-9a-fA-F-]+\.png$`)

// richValue is what an uploaded artifact adds to a run: a text record, or
// a media record and its file's bytes.
type richValue struct {
	text  *runfmt.Text
	media *runfmt.Media
	data  []byte
	cells []mediaFile // image cells of a table, written before it
}

// mediaFile is an image cell of a table: its bytes and file ending.
type mediaFile struct {
	data []byte
	ext  string
}

// artifactValue returns the rich value of the artifact rel of run that was
// just uploaded, or nil when it has none; read reads an artifact of the
// run.
func artifactValue(read func(rel string) ([]byte, bool), run store.Run, rel string, now float64) *richValue {
	ext := strings.ToLower(path.Ext(rel))
	key := strings.TrimSuffix(rel, path.Ext(rel))
	step := max(run.MaxStep, 0)
	switch ext {
	case ".png", ".jpg", ".jpeg", ".gif":
		if strings.HasPrefix(rel, "table_images/") {
			return nil
		}
		if m := mediaImageName.FindStringSubmatch(rel); m != nil {
			s, err := strconv.ParseInt(m[2], 10, 64)
			if err != nil {
				return nil
			}
			key, step = strings.ReplaceAll(m[1], "~", "/"), s
		}
	case ".txt", ".json", ".yaml", ".yml":
	default:
		return nil
	}
	if runfmt.CheckKey(key) != nil {
		return nil
	}
	data, ok := read(rel)
	if !ok {
		return nil
	}
	switch ext {
	case ".txt", ".yaml", ".yml":
		return textValue(key, step, now, data)
	case ".json":
		if v := tableValue(read, key, step, now, data); v != nil {
			return v
		}
		return textValue(key, step, now, data)
	}
	m, ok := imageMedia(key, step, now, data)
	if !ok {
		return nil
	}
	return &richValue{media: &m, data: data}
}

// readArtifact reads an uploaded file of at most maxMediaArtifact bytes.
func (h *handler) readArtifact(ctx context.Context, run store.Run, rel string) ([]byte, bool) {
	f, err := h.b.OpenArtifact(ctx, run, rel)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMediaArtifact+1))
	if err != nil || len(data) > maxMediaArtifact {
		return nil, false
	}
	return data, true
}

func textValue(key string, step int64, now float64, data []byte) *richValue {
	if len(data) > runfmt.MaxValueText || !utf8.Valid(data) {
		return nil
	}
	return &richValue{text: &runfmt.Text{Key: key, Step: step, Time: now, Text: string(data)}}
}

// imageMedia returns the media record of an image file, if it decodes
// and is within runlog's limits; its path is left to write.
func imageMedia(key string, step int64, now float64, data []byte) (runfmt.Media, bool) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > runfmt.MaxImageSide || cfg.Height > runfmt.MaxImageSide ||
		cfg.Width*cfg.Height > runfmt.MaxImagePixels {
		return runfmt.Media{}, false
	}
	return runfmt.Media{Key: key, Step: step, Time: now, Kind: runfmt.MediaImage, Format: format, Width: cfg.Width, Height: cfg.Height}, true
}

// imageExt is the file ending of an image format.
var imageExt = map[string]string{"png": "png", "jpeg": "jpg", "gif": "gif"}

// tableValue returns the table of a log_table file, or nil if data is not
// one: MLflow's pandas "split" JSON, {"columns": […], "data": [[…]…]}.
func tableValue(read func(rel string) ([]byte, bool), key string, step int64, now float64, data []byte) *richValue {
	var t struct {
		Columns []any               `json:"columns"`
		Data    [][]json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&t) != nil || t.Columns == nil || t.Data == nil {
		return nil
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = fmt.Sprint(c)
	}
	v := &richValue{}
	rows := make([][]json.RawMessage, len(t.Data))
	for i, row := range t.Data {
		if len(row) != len(cols) {
			return nil
		}
		out := make([]json.RawMessage, len(row))
		for j, cell := range row {
			out[j] = v.tableCell(read, key, step, cell)
		}
		rows[i] = out
	}
	doc, err := json.Marshal(map[string]any{"columns": cols, "data": rows})
	if err != nil {
		return nil
	}
	v.media = &runfmt.Media{Key: key, Step: step, Time: now, Kind: runfmt.MediaTable, Format: "json", Rows: len(rows), Columns: cols}
	v.data = doc
	return v
}

// tableCell returns a cell of an MLflow table as a cell of runlog's: an
// image ({"type": "image", "filepath": …}) copied under media/, other
// objects and arrays as their JSON text, the rest as it is.
func (v *richValue) tableCell(read func(rel string) ([]byte, bool), key string, step int64, cell json.RawMessage) json.RawMessage {
	switch {
	case len(cell) == 0:
		return json.RawMessage("null")
	case cell[0] != '{' && cell[0] != '[':
		return cell
	}
	var img struct {
		Type     string `json:"type"`
		Filepath string `json:"filepath"`
	}
	if json.Unmarshal(cell, &img) == nil && img.Type == "image" {
		if rel, err := cleanRel(img.Filepath); err == nil && rel != "" {
			if data, ok := read(rel); ok {
				if m, ok := imageMedia(key, step, 0, data); ok {
					sum := sha256.Sum256(data)
					sha := hex.EncodeToString(sum[:])
					// The path write gives it: MediaFiles names a file by key, step and content.
					p := runfmt.MediaPath(key, step, sha, imageExt[m.Format])
					v.cells = append(v.cells, mediaFile{data, imageExt[m.Format]})
					b, _ := json.Marshal(map[string]any{"image": map[string]any{"path": p, "width": m.Width, "height": m.Height, "sha256": sha}})
					return b
				}
			}
		}
	}
	b, _ := json.Marshal(string(cell))
	return b
}

// write stores the value's files under the run's media/ through the
// backend (in a run folder, runfmt.MediaFiles, as every Go writer of a
// run's log does), and completes its media record. A text has none.
func (v *richValue) write(ctx context.Context, b mlbackend.Backend, run store.Run) error {
	if v.media == nil {
		return nil
	}
	for _, c := range v.cells {
		cell := runfmt.Media{Key: v.media.Key, Step: v.media.Step}
		if err := b.WriteMedia(ctx, run, &cell, c.data, c.ext); err != nil {
			return err
		}
	}
	ext := runfmt.TableExt
	if v.media.Kind == runfmt.MediaImage {
		ext = imageExt[v.media.Format]
	}
	return b.WriteMedia(ctx, run, v.media, v.data, ext)
}

// append adds the value's record.
func (v *richValue) append(rs *records) {
	if v.text != nil {
		rs.json(runfmt.TypeText, *v.text)
	} else {
		rs.json(runfmt.TypeMedia, *v.media)
	}
}
