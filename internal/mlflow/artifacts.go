package mlflow

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// The artifacts proxy. A run's artifact_uri is
// mlflow-artifacts:/<experiment>/<run>/artifacts, which the client turns
// into /api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/…
// on this server. A file uploaded there is kept in the run folder's
// artifacts/ and registered with the run by an artifact record (kind
// "file", its size and sha256), so `runlog show` lists it.

// artifactPath splits a path of the artifacts API, <experiment>/<run>/
// artifacts[/rel], into the run id and the path rel inside the run's
// artifacts/.
func artifactPath(p string) (runID, rel string, err error) {
	parts := strings.SplitN(strings.Trim(p, "/"), "/", 4)
	if len(parts) < 3 || parts[2] != "artifacts" || parts[1] == "" {
		return "", "", invalidf("Invalid artifact path %q: expected <experiment>/<run>/artifacts/<path>", p)
	}
	if len(parts) == 4 {
		rel = parts[3]
	}
	if rel != "" {
		c := path.Clean(rel)
		if c != rel || c == "." || c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") {
			return "", "", invalidf("Invalid artifact path %q", rel)
		}
	}
	return parts[1], rel, nil
}

func (h *handler) serveArtifacts(w http.ResponseWriter, r *http.Request, rest string) {
	var err error
	switch {
	case rest == "artifacts" && r.Method == http.MethodGet:
		err = h.listArtifacts(w, r, r.URL.Query().Get("path"))
	case strings.HasPrefix(rest, "artifacts/") && r.Method == http.MethodGet:
		err = h.downloadArtifact(w, r, strings.TrimPrefix(rest, "artifacts/"))
	case strings.HasPrefix(rest, "artifacts/") && r.Method == http.MethodPut:
		err = h.uploadArtifact(r, strings.TrimPrefix(rest, "artifacts/"))
		if err == nil {
			writeJSON(w, http.StatusOK, struct{}{})
		}
	default:
		err = errorf(codeEndpointNotFound, "No API endpoint %s %s on this runlog server", r.Method, r.URL.Path)
	}
	if err != nil {
		writeError(w, err)
	}
}

// artifactFile returns the run and the file on disk that an artifacts API
// path names.
func (h *handler) artifactFile(r *http.Request, p string) (store.Run, string, string, error) {
	id, rel, err := artifactPath(p)
	if err != nil {
		return store.Run{}, "", "", err
	}
	run, err := h.run(r.Context(), id)
	if err != nil {
		return run, "", "", err
	}
	if run.Path == "" {
		return run, "", "", errorf(codeNotFound, "run %s has no folder in this home", id)
	}
	return run, rel, filepath.Join(run.Path, layout.ArtifactsDir, filepath.FromSlash(rel)), nil
}

func (h *handler) uploadArtifact(r *http.Request, p string) error {
	run, rel, file, err := h.artifactFile(r, p)
	if err != nil {
		return err
	}
	if rel == "" {
		return invalidf("Invalid artifact path %q: name a file", p)
	}
	if err := h.activeRun(&run); err != nil {
		return err
	}
	return h.change(r.Context(), run.ID, func(w *logWriter, _ *store.Run) error {
		size, sum, err := saveFile(file, r.Body)
		if err != nil {
			return fmt.Errorf("save artifact %s: %w", rel, err)
		}
		a := runfmt.Artifact{Path: layout.ArtifactsDir + "/" + rel, Kind: runfmt.KindFile, Time: h.nowSeconds(), Size: size, SHA256: sum}
		return w.append(func(rs *records) error {
			rs.json(runfmt.TypeArtifact, a)
			return nil
		})
	})
}

// saveFile writes the body to path through a temporary file, synced and
// renamed, and returns its size and sha256.
func saveFile(path string, body io.Reader) (int64, string, error) {
	h := sha256.New()
	var n int64
	err := atomicfile.Write(path, func(w io.Writer) error {
		var err error
		n, err = io.Copy(io.MultiWriter(w, h), body)
		return err
	})
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func (h *handler) downloadArtifact(w http.ResponseWriter, r *http.Request, p string) error {
	_, _, file, err := h.artifactFile(r, p)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return errorf(codeNotFound, "Artifact %s does not exist", p)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return invalidf("Artifact %s is a folder", p)
	}
	ct := mime.TypeByExtension(filepath.Ext(file))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(w, r, filepath.Base(file), fi.ModTime(), f)
	return nil
}

// fileInfo is an entry of an artifact listing.
type fileInfo struct {
	Path  string `json:"path"`
	IsDir bool   `json:"is_dir"`
	Size  *int64 `json:"file_size,omitempty"`
}

// listArtifacts answers GET /api/2.0/mlflow-artifacts/artifacts?path=…
// with the entries of a folder, their paths relative to it.
func (h *handler) listArtifacts(w http.ResponseWriter, r *http.Request, p string) error {
	files, err := h.artifactList(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files})
	return nil
}

func (h *handler) artifactList(r *http.Request, p string) ([]fileInfo, error) {
	_, _, dir, err := h.artifactFile(r, p)
	if err != nil {
		return nil, err
	}
	files := []fileInfo{}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() { // a file lists as itself
		size := fi.Size()
		return []fileInfo{{Path: fi.Name(), Size: &size}}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // temporary files of uploads
		}
		info := fileInfo{Path: e.Name(), IsDir: e.IsDir()}
		if !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				size := fi.Size()
				info.Size = &size
			}
		}
		files = append(files, info)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// listRunArtifacts answers the tracking API's artifacts/list, by run id,
// with paths relative to the run's artifact root.
func (h *handler) listRunArtifacts(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		Path string `json:"path"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	run, exp, err := h.runAndExperiment(r.Context(), q.id())
	if err != nil {
		return nil, err
	}
	p := strings.TrimPrefix(artifactURI(exp.ID, run.ID), "mlflow-artifacts:/")
	if q.Path != "" {
		p += "/" + q.Path
	}
	files, err := h.artifactList(r, p)
	if err != nil {
		return nil, err
	}
	for i := range files {
		if q.Path != "" {
			files[i].Path = q.Path + "/" + files[i].Path
		}
	}
	return map[string]any{"root_uri": artifactURI(exp.ID, run.ID), "files": files}, nil
}
