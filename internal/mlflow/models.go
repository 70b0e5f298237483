package mlflow

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// MLflow 3's logged models (mlflow.<flavor>.log_model). A logged model
// belongs to the run that logged it: its files are uploaded to the run's
// artifacts, under artifacts/models/<model id>/ (its artifact_uri is
// mlflow-artifacts:/<experiment>/<run>/artifacts/models/<model id>), and
// when the client marks it READY the folder is registered with the run as
// one artifact of kind "model", so `runlog show` and the UI list it. What
// MLflow says of a model beyond its files — name, status, tags, params —
// has no place in a run, and is kept beside the experiments in one small
// document per model, "models/<model id>" (Backend.Document): on a home
// the file <home>/mlflow/models/<model id>.json, on a team server a row of
// PostgreSQL, which every replica changes under the row's lock (a bucket
// has no lock for a read-modify-write, and a team server may have no
// bucket). A model logged outside a run is refused: runlog has no run to
// keep its files in.

// Logged models' statuses, by name and proto number.
var modelStatusNames = map[string]string{"0": "LOGGED_MODEL_STATUS_UNSPECIFIED", "1": "LOGGED_MODEL_PENDING",
	"2": "LOGGED_MODEL_READY", "3": "LOGGED_MODEL_UPLOAD_FAILED"}

const modelReady = "LOGGED_MODEL_READY"

// loggedModel is what <home>/mlflow/models/<id>.json holds.
type loggedModel struct {
	ID            string            `json:"model_id"`
	ExperimentID  string            `json:"experiment_id"`
	Name          string            `json:"name"`
	RunID         string            `json:"source_run_id"`
	ModelType     string            `json:"model_type,omitempty"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message,omitempty"`
	Created       int64             `json:"creation_timestamp_ms"`
	Updated       int64             `json:"last_updated_timestamp_ms"`
	Tags          map[string]string `json:"tags,omitempty"`
	Params        map[string]string `json:"params,omitempty"`
	Deleted       bool              `json:"deleted,omitempty"`
}

// modelFolder is the folder of a model's files, relative to its run's
// folder.
func modelFolder(id string) string { return layout.ArtifactsDir + "/models/" + id }

func (m *loggedModel) artifactURI() string {
	return artifactURI(m.ExperimentID, m.RunID) + "/models/" + m.ID
}

// modelOut is MLflow's LoggedModel message.
type modelOut struct {
	Info struct {
		ModelID       string     `json:"model_id"`
		ExperimentID  string     `json:"experiment_id"`
		Name          string     `json:"name"`
		Created       int64      `json:"creation_timestamp_ms"`
		Updated       int64      `json:"last_updated_timestamp_ms"`
		ArtifactURI   string     `json:"artifact_uri"`
		Status        string     `json:"status"`
		ModelType     string     `json:"model_type,omitempty"`
		SourceRunID   string     `json:"source_run_id"`
		StatusMessage string     `json:"status_message,omitempty"`
		Tags          []keyValue `json:"tags"`
	} `json:"info"`
	Data struct {
		Params  []keyValue  `json:"params"`
		Metrics []metricOut `json:"metrics"`
	} `json:"data"`
}

func (m *loggedModel) out() modelOut {
	var o modelOut
	o.Info.ModelID, o.Info.ExperimentID, o.Info.Name = m.ID, m.ExperimentID, m.Name
	o.Info.Created, o.Info.Updated, o.Info.ArtifactURI = m.Created, m.Updated, m.artifactURI()
	o.Info.Status, o.Info.ModelType, o.Info.SourceRunID, o.Info.StatusMessage = m.Status, m.ModelType, m.RunID, m.StatusMessage
	o.Info.Tags, o.Data.Params, o.Data.Metrics = sortedKVs(m.Tags), sortedKVs(m.Params), []metricOut{}
	return o
}

func sortedKVs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, v})
	}
	slices.SortFunc(out, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// modelDoc is the name of the document of the model id.
func modelDoc(id string) string { return "models/" + id }

// readModel reads the model id; a deleted one is not found unless
// allowDeleted.
func (h *handler) readModel(ctx context.Context, id string, allowDeleted bool) (loggedModel, error) {
	var m loggedModel
	notFound := errorf(codeNotFound, "Logged model with ID '%s' not found.", id)
	if !strings.HasPrefix(id, "m-") || strings.ContainsAny(id, `/\.`) {
		return m, notFound
	}
	raw, err := h.b.Document(ctx, modelDoc(id))
	if err != nil {
		return m, fmt.Errorf("read logged model: %w", err)
	}
	if raw == nil {
		return m, notFound
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("read logged model %s: %w", id, err)
	}
	if m.Deleted && !allowDeleted {
		return m, notFound
	}
	return m, nil
}

// updateModel changes the model id under the backend's lock, which
// serializes the processes serving the same runs.
func (h *handler) updateModel(ctx context.Context, id string, fn func(m *loggedModel) error) (loggedModel, error) {
	if _, err := h.readModel(ctx, id, false); err != nil {
		return loggedModel{}, err
	}
	var m loggedModel
	err := h.b.UpdateDocument(ctx, modelDoc(id), func(old []byte) ([]byte, error) {
		m = loggedModel{}
		if err := json.Unmarshal(old, &m); err != nil {
			return nil, fmt.Errorf("read logged model %s: %w", id, err)
		}
		if m.Deleted {
			return nil, errorf(codeNotFound, "Logged model with ID '%s' not found.", id)
		}
		if err := fn(&m); err != nil {
			return nil, err
		}
		m.Updated = h.opt.Now().UnixMilli()
		return marshalModel(&m)
	})
	return m, err
}

func marshalModel(m *loggedModel) ([]byte, error) {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// kvMap turns MLflow's list of key-value pairs (tags, params) into a map,
// checking each pair with check; an empty list is nil.
func kvMap(kvs []keyValue, check func(keyValue) error) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		if err := check(kv); err != nil {
			return nil, err
		}
		m[kv.Key] = kv.Value
	}
	return m, nil
}

func (h *handler) createLoggedModel(r *http.Request) (any, error) {
	var q struct {
		ExperimentID string     `json:"experiment_id"`
		Name         string     `json:"name"`
		ModelType    string     `json:"model_type"`
		SourceRunID  string     `json:"source_run_id"`
		Params       []keyValue `json:"params"`
		Tags         []keyValue `json:"tags"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.ExperimentID == "" {
		return nil, missing("experiment_id")
	}
	if q.SourceRunID == "" {
		return nil, invalidf("runlog keeps a logged model's files in the folder of the run that logs it: " +
			"log the model inside a run (mlflow.start_run()) or give its source_run_id.")
	}
	params, err := kvMap(q.Params, checkParam)
	if err != nil {
		return nil, err
	}
	tags, err := kvMap(q.Tags, checkTag)
	if err != nil {
		return nil, err
	}
	run, exp, err := h.runAndExperiment(r.Context(), q.SourceRunID)
	if err != nil {
		return nil, err
	}
	if exp.ID != q.ExperimentID {
		return nil, invalidf("Run '%s' is in experiment %s, not in experiment %s.", run.ID, exp.ID, q.ExperimentID)
	}
	if err := h.activeRun(r.Context(), &run); err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	now := h.opt.Now().UnixMilli()
	m := loggedModel{ID: "m-" + hex.EncodeToString(id), ExperimentID: exp.ID, Name: q.Name, RunID: run.ID,
		ModelType: q.ModelType, Status: "LOGGED_MODEL_PENDING", Created: now, Updated: now, Tags: tags, Params: params}
	if m.Name == "" {
		m.Name = randomName()
	}
	err = h.b.UpdateDocument(r.Context(), modelDoc(m.ID), func(old []byte) ([]byte, error) {
		if old != nil {
			return nil, errorf(codeAlreadyExists, "Logged model with ID '%s' already exists.", m.ID)
		}
		return marshalModel(&m)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": m.out()}, nil
}

// modelRoute returns the endpoint of a path under logged-models/ that
// names a model, or nil.
func modelRoute(method, rest string) route {
	p, ok := strings.CutPrefix(rest, "logged-models/")
	if !ok || p == "" || p == "search" {
		return nil
	}
	id, sub, _ := strings.Cut(p, "/")
	with := func(fn func(h *handler, r *http.Request, id, arg string) (any, error), arg string) route {
		return func(h *handler, r *http.Request) (any, error) { return fn(h, r, id, arg) }
	}
	switch {
	case sub == "" && method == http.MethodGet:
		return with((*handler).getLoggedModel, "")
	case sub == "" && method == http.MethodPatch:
		return with((*handler).finalizeLoggedModel, "")
	case sub == "" && method == http.MethodDelete:
		return with((*handler).deleteLoggedModel, "")
	case sub == "tags" && method == http.MethodPatch:
		return with((*handler).setLoggedModelTags, "")
	case strings.HasPrefix(sub, "tags/") && method == http.MethodDelete:
		return with((*handler).deleteLoggedModelTag, strings.TrimPrefix(sub, "tags/"))
	case sub == "params" && method == http.MethodPost:
		return with((*handler).logLoggedModelParams, "")
	case sub == "artifacts/directories" && method == http.MethodGet:
		return with((*handler).listLoggedModelArtifacts, "")
	}
	return nil
}

func (h *handler) getLoggedModel(r *http.Request, id, _ string) (any, error) {
	m, err := h.readModel(r.Context(), id, strings.EqualFold(r.URL.Query().Get("allow_deleted"), "true"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": m.out()}, nil
}

// finalizeLoggedModel sets a model's status. Once it is READY, its folder
// is registered with its run as an artifact of kind "model".
func (h *handler) finalizeLoggedModel(r *http.Request, id, _ string) (any, error) {
	var q struct {
		Status enum `json:"status"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.Status == "" {
		return nil, missing("status")
	}
	status := q.Status.name(modelStatusNames)
	if !slices.Contains(slices.Collect(mapValues(modelStatusNames)), status) {
		return nil, invalidValue("status", string(q.Status), "")
	}
	var was string
	m, err := h.updateModel(r.Context(), id, func(m *loggedModel) error {
		was, m.Status = m.Status, status
		return nil
	})
	if err != nil {
		return nil, err
	}
	if status == modelReady && was != modelReady {
		if err := h.registerModel(r, &m); err != nil {
			return nil, err
		}
	}
	return map[string]any{"model": m.out()}, nil
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// registerModel writes the artifact record of a model's folder to its
// run: kind "model", the size of its files, and what MLflow says of it.
func (h *handler) registerModel(r *http.Request, m *loggedModel) error {
	return h.change(r.Context(), m.RunID, func(w *logWriter, run *store.Run) error {
		size, err := h.b.ArtifactsSize(r.Context(), *run, "models/"+m.ID)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // no files: nothing to show
		}
		if err != nil {
			return fmt.Errorf("read logged model %s: %w", m.ID, err)
		}
		meta := map[string]any{"mlflow_model_id": m.ID, "name": m.Name}
		if m.ModelType != "" {
			meta["model_type"] = m.ModelType
		}
		a := runfmt.Artifact{Path: modelFolder(m.ID), Kind: runfmt.KindModel, Time: h.nowSeconds(), Size: size, Metadata: meta}
		return w.append(r.Context(), func(rs *records) error {
			rs.json(runfmt.TypeArtifact, a)
			return nil
		})
	})
}

func (h *handler) deleteLoggedModel(r *http.Request, id, _ string) (any, error) {
	_, err := h.updateModel(r.Context(), id, func(m *loggedModel) error {
		m.Deleted = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) setLoggedModelTags(r *http.Request, id, _ string) (any, error) {
	var q struct {
		Tags []keyValue `json:"tags"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	tags, err := kvMap(q.Tags, checkTag)
	if err != nil {
		return nil, err
	}
	_, err = h.updateModel(r.Context(), id, func(m *loggedModel) error {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		for k, v := range tags {
			m.Tags[k] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) deleteLoggedModelTag(r *http.Request, id, key string) (any, error) {
	_, err := h.updateModel(r.Context(), id, func(m *loggedModel) error {
		if _, ok := m.Tags[key]; !ok {
			return errorf(codeNotFound, "No tag with key %s found for model with ID %s.", key, id)
		}
		delete(m.Tags, key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) logLoggedModelParams(r *http.Request, id, _ string) (any, error) {
	var q struct {
		Params []keyValue `json:"params"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	params, err := kvMap(q.Params, checkParam)
	if err != nil {
		return nil, err
	}
	_, err = h.updateModel(r.Context(), id, func(m *loggedModel) error {
		if m.Params == nil {
			m.Params = map[string]string{}
		}
		for k, v := range params {
			m.Params[k] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// listLoggedModelArtifacts lists a folder of a model's files.
func (h *handler) listLoggedModelArtifacts(r *http.Request, id, _ string) (any, error) {
	m, err := h.readModel(r.Context(), id, false)
	if err != nil {
		return nil, err
	}
	rel := r.URL.Query().Get("artifact_directory_path")
	if rel != "" {
		if c := path.Clean(rel); c != rel || c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") {
			return nil, invalidValue("artifact_directory_path", rel, "Invalid path")
		}
	}
	run, err := h.run(r.Context(), m.RunID)
	if err != nil {
		return nil, err
	}
	type file struct {
		Path  string `json:"path"`
		IsDir bool   `json:"is_dir"`
		Size  *int64 `json:"file_size,omitempty"`
	}
	out := struct {
		Files   []file `json:"files"`
		RootURI string `json:"root_uri"`
	}{Files: []file{}, RootURI: m.artifactURI()}
	entries, err := h.b.ReadArtifactDir(r.Context(), run, path.Join("models", m.ID, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list logged model %s: %w", id, err)
	}
	for _, e := range entries {
		f := file{Path: path.Join(rel, e.Name()), IsDir: e.IsDir()}
		if !e.IsDir() {
			size := e.Size()
			f.Size = &size
		}
		out.Files = append(out.Files, f)
	}
	return out, nil
}

// searchLoggedModels lists the models of experiments, newest first, with
// MLflow's filter language on name, model_id, source_run_id, status,
// model_type, tags and params.
func (h *handler) searchLoggedModels(r *http.Request) (any, error) {
	var q struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		MaxResults    jsonInt  `json:"max_results"`
		PageToken     string   `json:"page_token"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	clauses, err := parseFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	docs, err := h.b.Documents(r.Context(), modelDoc(""))
	if err != nil {
		return nil, fmt.Errorf("list logged models: %w", err)
	}
	var found []loggedModel
	for name, raw := range docs {
		var m loggedModel
		if err := json.Unmarshal(raw, &m); err != nil {
			h.warn(fmt.Errorf("logged model %s: %w", name, err))
			continue
		}
		if m.Deleted {
			continue
		}
		if len(q.ExperimentIDs) > 0 && !slices.Contains(q.ExperimentIDs, m.ExperimentID) {
			continue
		}
		if matchModel(&m, clauses) {
			found = append(found, m)
		}
	}
	slices.SortFunc(found, func(a, b loggedModel) int {
		return cmp.Or(cmp.Compare(b.Created, a.Created), strings.Compare(a.ID, b.ID))
	})
	start, end, next, err := page(len(found), q.PageToken, q.MaxResults, maxSearchResults)
	if err != nil {
		return nil, err
	}
	out := struct {
		Models []modelOut `json:"models"`
		Next   string     `json:"next_page_token,omitempty"`
	}{Models: []modelOut{}, Next: next}
	for i := start; i < end; i++ {
		out.Models = append(out.Models, found[i].out())
	}
	return out, nil
}

// matchModel reports whether m passes every clause; a metric clause
// matches nothing, as runlog keeps no metrics of models.
func matchModel(m *loggedModel, clauses []clause) bool {
	for i := range clauses {
		c := &clauses[i]
		var v string
		var ok bool
		switch c.entity {
		case entityTag:
			v, ok = m.Tags[c.key]
		case entityParam:
			v, ok = m.Params[c.key]
		case entityAttribute:
			v, ok = map[string]string{"name": m.Name, "run_name": m.Name, "model_id": m.ID, "source_run_id": m.RunID,
				"status": m.Status, "model_type": m.ModelType, "experiment_id": m.ExperimentID}[c.key]
		}
		switch {
		case c.op == "IS NULL":
			ok = !ok
		case c.op == "IS NOT NULL":
		case ok:
			ok = !c.numeric() && c.matchString(v)
		}
		if !ok {
			return false
		}
	}
	return true
}
