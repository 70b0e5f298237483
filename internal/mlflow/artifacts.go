package mlflow

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
)

// The artifacts proxy. A run's artifact_uri is
// mlflow-artifacts:/<experiment>/<run>/artifacts, which the client turns
// into /api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/…
// on this server. A file uploaded there is kept as the file artifacts/<path>
// of the run — in the run folder on a home, in the bucket on a team server
// — and registered with the run by an artifact record (kind "file", its
// size and sha256), so `runlog show` lists it.
//
// On a home every file is opened through internal/runfs, rooted at the
// run's artifacts/ folder: a path or symbolic link that leads out of it is
// refused, for download, listing and upload alike. A file is sent to a
// browser as runfs.Serve sends it (attachment, CSP sandbox), so that an
// uploaded HTML or SVG file cannot run script in the server's origin.
//
// Uploads stream to their store (sha256 computed on the way, kept only
// whole) up to Options.MaxArtifactBytes; the server's smaller limit on
// request bodies does not apply to them (BodyLimit). MLflow's multipart upload
// (mpu/create, mpu/complete, mpu/abort) is answered as MLflow's own server
// answers it over a local artifact store: not supported, upon which the
// client falls back to one streamed PUT. Its parts go to presigned URLs of
// a cloud store, which a local folder does not have.

// DefaultMaxArtifactBytes is the largest artifact upload accepted unless
// Options.MaxArtifactBytes says otherwise: 20 GiB.
const DefaultMaxArtifactBytes = 20 << 30

// unsupportedMultipart is the message of MLflow's
// _UnsupportedMultipartUploadException, on which the client falls back to
// a plain upload; it compares the start of the message.
const unsupportedMultipart = "Multipart upload is not supported for the current artifact repository"

// artifactPath splits a path of the artifacts API, <experiment>/<run>/
// artifacts[/rel], into the run id and the path rel inside the run's
// artifacts/: "" for artifacts/ itself, which "." and a trailing slash
// also name.
func artifactPath(p string) (runID, rel string, err error) {
	parts := strings.SplitN(strings.Trim(p, "/"), "/", 4)
	if len(parts) < 3 || parts[2] != "artifacts" || parts[1] == "" {
		return "", "", invalidf("Invalid artifact path %q: expected <experiment>/<run>/artifacts/<path>", p)
	}
	if len(parts) == 4 {
		rel = parts[3]
	}
	if rel, err = cleanRel(rel); err != nil {
		return "", "", err
	}
	return parts[1], rel, nil
}

// cleanRel checks a path inside the artifacts folder and cleans it: "."
// and empty parts are dropped, as MLflow's server drops them (the client
// asks for <root>/./sub when it downloads "."), so "" and "." name the
// folder itself; absolute paths, ".." parts, backslashes and NUL are
// refused.
func cleanRel(rel string) (string, error) {
	if strings.HasPrefix(rel, "/") || strings.ContainsAny(rel, "\\\x00") || slices.Contains(strings.Split(rel, "/"), "..") {
		return "", invalidf("Invalid artifact path %q: give a path inside the run's artifacts, without '..'", rel)
	}
	if rel = path.Clean(rel); rel == "." {
		return "", nil
	}
	return rel, nil
}

// BodyLimit returns the largest request body the handler accepts for r:
// MaxArtifactBytes for an artifact upload, which streams to disk, and 0
// (the server's own limit) for anything else. The server's middleware
// asks it before reading a body (server.BodyLimiter).
func (l limitedHandler) BodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, ArtifactsPrefix+"artifacts/") {
		return l.h.maxArtifactBytes()
	}
	return 0
}

// limitedHandler is the handler as NewHandler returns it: the APIs, and
// their body limits for the server's middleware.
type limitedHandler struct {
	http.Handler
	h *handler
}

func (h *handler) maxArtifactBytes() int64 {
	if h.opt.MaxArtifactBytes > 0 {
		return h.opt.MaxArtifactBytes
	}
	return DefaultMaxArtifactBytes
}

// serveArtifacts serves the artifacts API; rest is the path after
// ArtifactsPrefix.
func (h *handler) serveArtifacts(w http.ResponseWriter, r *http.Request, rest string) error {
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
	case r.Method == http.MethodPost && (strings.HasPrefix(rest, "mpu/create/") ||
		strings.HasPrefix(rest, "mpu/complete/") || strings.HasPrefix(rest, "mpu/abort/")):
		err = errorf(codeNotImplemented, "%s", unsupportedMultipart)
	default:
		err = errorf(codeEndpointNotFound, "No API endpoint %s %s on this runlog server", r.Method, r.URL.Path)
	}
	return err
}

// artifactRun returns the run that an artifacts API path names, and the
// path inside its artifacts/.
func (h *handler) artifactRun(r *http.Request, p string) (store.Run, string, error) {
	id, rel, err := artifactPath(p)
	if err != nil {
		return store.Run{}, "", err
	}
	run, err := h.run(r.Context(), id)
	return run, rel, err
}

// artifactError maps the errors of the backend's files to MLflow's: a
// path that is not there is RESOURCE_DOES_NOT_EXIST, one that leads out of
// the artifacts folder through a link PERMISSION_DENIED (names were
// checked before), a folder where a file was asked INVALID_PARAMETER_VALUE.
func artifactError(err error, p string) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return errorf(codeNotFound, "Artifact %s does not exist", p)
	case errors.Is(err, runfs.ErrOutside):
		return errorf(codePermission, "Artifact %s leads outside the run's artifacts through a symbolic link", p)
	case errors.Is(err, runfs.ErrNotFile):
		return invalidf("Artifact %s is not a file", p)
	case errors.Is(err, runfs.ErrTooLarge):
		return errorf(codeTooLarge, "Artifact %s is over this server's limit on uploads (%v)", p, err)
	}
	return err
}

func (h *handler) uploadArtifact(r *http.Request, p string) error {
	run, rel, err := h.artifactRun(r, p)
	if err != nil {
		return err
	}
	if rel == "" {
		return invalidf("Invalid artifact path %q: name a file", p)
	}
	if max := h.maxArtifactBytes(); r.ContentLength > max {
		return errorf(codeTooLarge, "Artifact %s: %d bytes is over this server's limit on uploads (%d bytes)", p, r.ContentLength, max)
	}
	if err := h.activeRun(r.Context(), &run); err != nil {
		return err
	}
	// The file is written before the run's writer is taken: an upload of
	// gigabytes does not hold up the run's metrics.
	size, sum, err := h.b.PutArtifact(r.Context(), run, rel, r.Body, h.maxArtifactBytes())
	if err != nil {
		return artifactError(fmt.Errorf("save artifact %s: %w", rel, err), p)
	}
	// An image, text, table or document also becomes a rich value (media.go).
	now := h.nowSeconds()
	read := func(rel string) ([]byte, bool) { return h.readArtifact(r.Context(), run, rel) }
	value := artifactValue(read, run, rel, now)
	if value != nil {
		if err := value.write(r.Context(), h.b, run); err != nil {
			h.warn(fmt.Errorf("run %s: artifact %s kept, but not as a %s value: %w", run.ID, rel, value.media.Kind, err))
			value = nil
		}
	}
	return h.change(r.Context(), run.ID, func(w *logWriter, _ *store.Run) error {
		a := runfmt.Artifact{Path: layout.ArtifactsDir + "/" + rel, Kind: runfmt.KindFile, Time: now, Size: size, SHA256: sum}
		return w.append(r.Context(), func(rs *records) error {
			rs.json(runfmt.TypeArtifact, a)
			if value != nil {
				value.append(rs)
			}
			return nil
		})
	})
}

func (h *handler) downloadArtifact(w http.ResponseWriter, r *http.Request, p string) error {
	run, rel, err := h.artifactRun(r, p)
	if err != nil {
		return err
	}
	if rel == "" {
		return invalidf("Artifact %s is a folder", p)
	}
	if err := h.b.ServeArtifact(w, r, run, rel); err != nil {
		return artifactError(err, p)
	}
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

// artifactList lists the folder an artifacts API path names: a missing
// one is empty, a file lists as itself. Temporary files of uploads in
// progress, and links that lead out of the artifacts folder, are left out.
func (h *handler) artifactList(r *http.Request, p string) ([]fileInfo, error) {
	files := []fileInfo{}
	run, rel, err := h.artifactRun(r, p)
	if err != nil {
		return nil, err
	}
	fi, err := h.b.StatArtifact(r.Context(), run, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, artifactError(err, p)
	}
	if !fi.IsDir() {
		size := fi.Size()
		return []fileInfo{{Path: fi.Name(), Size: &size}}, nil
	}
	entries, err := h.b.ReadArtifactDir(r.Context(), run, rel)
	if err != nil {
		return nil, artifactError(err, p)
	}
	for _, e := range entries {
		info := fileInfo{Path: e.Name(), IsDir: e.IsDir()}
		if !e.IsDir() {
			size := e.Size()
			info.Size = &size
		}
		files = append(files, info)
	}
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
	rel, err := cleanRel(q.Path)
	if err != nil {
		return nil, err
	}
	p := strings.TrimPrefix(artifactURI(exp.ID, run.ID), "mlflow-artifacts:/")
	if rel != "" {
		p += "/" + rel
	}
	files, err := h.artifactList(r, p)
	if err != nil {
		return nil, err
	}
	for i := range files {
		if rel != "" {
			files[i].Path = rel + "/" + files[i].Path
		}
	}
	return map[string]any{"root_uri": artifactURI(exp.ID, run.ID), "files": files}, nil
}
