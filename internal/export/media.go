package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
)

// MediaIndex is the name of the index of a run's rich values.
const MediaIndex = "media.json"

// MediaItem is one value in media.json: a text, a histogram, or a file of
// the run folder (image, table, HTML) with its record's fields. Files keep
// their path relative to the folder media.json is in.
type MediaItem struct {
	runfmt.Media
	Text      *string   `json:"text,omitempty"`
	Edges     []float64 `json:"edges,omitempty"`
	Counts    []float64 `json:"counts,omitempty"`
	NaN       int64     `json:"nan,omitempty"`
	Inf       int64     `json:"inf,omitempty"`
	NInf      int64     `json:"ninf,omitempty"`
	Missing   string    `json:"missing,omitempty"` // why the file could not be exported
	TableRefs []string  `json:"images,omitempty"`  // a table's image cells, exported beside it
}

// Media writes media.json into dir, the index of the run's rich values in
// key and step order, and, when dir is not the run folder, copies the
// run's media files under dir/media/ with the same paths (a table's image
// cells with it). Files are read through runfs and checked against their
// record's SHA-256; one that is missing or changed is left out with a
// warning and marked in the index, and the export goes on. It returns the
// files written and the warnings.
func Media(ctx context.Context, st store.Store, r store.Run, dir string) (written []string, warns []error, err error) {
	keys, err := st.MediaKeys(ctx, r.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("media keys: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil, nil
	}
	copyFiles := false
	var src *runfs.Dir
	same, err := sameDir(dir, r.Path)
	if err != nil {
		return nil, nil, err
	}
	if !same {
		copyFiles = true
		if src, err = runfs.Open(r.Path); err != nil {
			src = nil
			warns = append(warns, fmt.Errorf("run %s: its folder cannot be read, no media file is exported: %w", r.ID, err))
		} else {
			defer src.Close()
		}
	}
	copied := map[string]string{} // path -> why it is missing ("" when copied)
	copyOne := func(rel, sha string) string {
		if why, done := copied[rel]; done {
			return why
		}
		why := "the run folder cannot be read"
		if src == nil {
			return why
		}
		why = ""
		if err := copyMedia(src, rel, sha, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			why = err.Error()
			warns = append(warns, fmt.Errorf("run %s: %s not exported: %w", r.ID, rel, err))
		} else {
			written = append(written, filepath.Join(dir, filepath.FromSlash(rel)))
		}
		copied[rel] = why
		return why
	}
	index := filepath.Join(dir, MediaIndex)
	err = atomicfile.Write(index, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		head, err := json.Marshal(map[string]any{"id": r.ID, "name": r.Name, "project": r.Project})
		if err != nil {
			return err
		}
		bw.Write(head[:len(head)-1])
		bw.WriteString(`,"media":[`)
		n := 0
		item := func(it MediaItem) error {
			b, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if n > 0 {
				bw.WriteString(",")
			}
			n++
			bw.WriteString("\n")
			_, err = bw.Write(b)
			return err
		}
		for _, k := range keys {
			if k.Kind == runfmt.MediaHistogram {
				hs, _, err := st.Histograms(ctx, r.ID, k.Key, 0)
				if err != nil {
					return fmt.Errorf("histograms of %q: %w", k.Key, err)
				}
				for _, h := range hs {
					it := MediaItem{Media: runfmt.Media{Key: h.Key, Step: h.Step, Time: h.Time, Kind: runfmt.MediaHistogram},
						Edges: h.Edges, Counts: h.Counts, NaN: h.NaN, Inf: h.Inf, NInf: h.NInf}
					if err := item(it); err != nil {
						return err
					}
				}
				continue
			}
			for from, more := int64(0), true; more; {
				page, m, err := st.Media(ctx, r.ID, k.Key, store.MediaQuery{From: from, Kind: k.Kind})
				if err != nil {
					return fmt.Errorf("values of %q: %w", k.Key, err)
				}
				more = m && len(page) > 0
				for _, v := range page {
					it := MediaItem{Media: v.Media}
					if v.Kind == runfmt.MediaText {
						text := v.Text
						it.Text = &text
					} else if copyFiles {
						it.Missing = copyOne(v.Path, v.SHA256)
						if it.Missing == "" && v.Kind == runfmt.MediaTable {
							it.TableRefs, warns = tableImages(src, v.Path, copyOne, warns)
						}
					}
					if err := item(it); err != nil {
						return err
					}
					from = v.Step + 1
				}
			}
		}
		bw.WriteString("\n]}\n")
		return bw.Flush()
	})
	if err != nil {
		return written, warns, fmt.Errorf("write %s: %w", index, err)
	}
	return append(written, index), warns, nil
}

// copyMedia copies the run folder's file rel to dst, checking that its
// SHA-256 is the one its record gives (when it gives one).
func copyMedia(src *runfs.Dir, rel, sha, dst string) error {
	if err := runfmt.CheckMediaPath(rel); err != nil {
		return err
	}
	f, _, err := src.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	return atomicfile.Write(dst, func(w io.Writer) error {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), f); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); sha != "" && got != sha {
			return fmt.Errorf("its SHA-256 is %s, its record says %s: the file changed after it was logged", got, sha)
		}
		return nil
	})
}

// tableImages copies the image cells of the table file rel and returns
// their paths. A cell's path is checked like a record's.
func tableImages(src *runfs.Dir, rel string, copyOne func(rel, sha string) string, warns []error) ([]string, []error) {
	f, _, err := src.Open(rel)
	if err != nil {
		return nil, append(warns, fmt.Errorf("%s: %w", rel, err))
	}
	defer f.Close()
	var t struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(f).Decode(&t); err != nil {
		return nil, append(warns, fmt.Errorf("%s: not a table: %w", rel, err))
	}
	var refs []string
	for _, row := range t.Data {
		for _, cell := range row {
			var c struct {
				Image *struct {
					Path   string `json:"path"`
					SHA256 string `json:"sha256"`
				} `json:"image"`
			}
			if len(cell) == 0 || cell[0] != '{' || json.Unmarshal(cell, &c) != nil || c.Image == nil {
				continue
			}
			if copyOne(c.Image.Path, c.Image.SHA256) == "" {
				refs = append(refs, c.Image.Path)
			}
		}
	}
	return refs, warns
}

// sameDir reports whether a and b are the same folder.
func sameDir(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("export folder: %w", err)
	}
	if b == "" {
		return false, nil
	}
	fb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("run folder: %w", err)
	}
	return os.SameFile(fa, fb), nil
}
