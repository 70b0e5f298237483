package mlflow

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/runlog/runlog/internal/store"
)

// MLflow's dataset inputs (mlflow.log_input, runs/log-inputs) are kept in
// the run's summary under the key "datasets": an object with one entry per
// dataset, under its name (or "name@digest" when the run logged another
// dataset of that name), holding its digest, source type, source, schema,
// profile and tags ("context": "training" for mlflow.data.context).
// `runlog show` prints them with the summary; runs/get returns them as the
// run's inputs.dataset_inputs. They are not in the config because MLflow
// reads a run's config back as its params, which datasets are not.

// datasetsKey is the summary key of a run's datasets.
const datasetsKey = "datasets"

// datasetMsg is MLflow's Dataset message.
type datasetMsg struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// datasetEntry is a dataset as the run's summary keeps it.
type datasetEntry struct {
	datasetMsg
	Tags map[string]string `json:"tags,omitempty"`
}

// datasetInput is MLflow's DatasetInput message.
type datasetInput struct {
	Tags    []keyValue `json:"tags"`
	Dataset datasetMsg `json:"dataset"`
}

// Tags of a dataset input that runlog shows under a short name.
const tagDatasetContext = "mlflow.data.context"

func (h *handler) logInputs(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		Datasets []datasetInput `json:"datasets"`
		Models   []struct {
			ModelID string `json:"model_id"`
		} `json:"models"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	for i, d := range q.Datasets {
		switch {
		case d.Dataset.Name == "":
			return nil, missing("datasets[" + itoa(i) + "].dataset.name")
		case d.Dataset.Digest == "":
			return nil, missing("datasets[" + itoa(i) + "].dataset.digest")
		case d.Dataset.SourceType == "":
			return nil, missing("datasets[" + itoa(i) + "].dataset.source_type")
		}
		for _, t := range d.Tags {
			if err := checkTag(t); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range q.Models {
		if _, err := h.readModel(r.Context(), m.ModelID, false); err != nil {
			return nil, err
		}
	}
	if len(q.Datasets) == 0 {
		if _, err := h.run(r.Context(), q.id()); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	}
	now := h.nowSeconds()
	err := h.change(r.Context(), q.id(), func(w *logWriter, run *store.Run) error {
		if err := h.activeRun(r.Context(), run); err != nil {
			return err
		}
		all := runDatasets(run.Summary)
		changed := false
		for _, d := range q.Datasets {
			e := datasetEntry{datasetMsg: d.Dataset}
			for _, t := range d.Tags {
				if e.Tags == nil {
					e.Tags = map[string]string{}
				}
				k := t.Key
				if k == tagDatasetContext {
					k = "context"
				}
				e.Tags[k] = t.Value
			}
			key := e.Name
			if old, ok := all[key]; ok && old.Digest != e.Digest {
				key = e.Name + "@" + e.Digest
			}
			if old, ok := all[key]; ok && jsonEqual(old, e) {
				continue
			}
			all[key], changed = e, true
		}
		if !changed {
			return nil
		}
		return w.append(r.Context(), func(rs *records) error {
			c := newTagChange(*run)
			c.setSummary(datasetsKey, all)
			return c.encode(rs, w.primary, now)
		})
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// runDatasets returns the datasets in a run's summary.
func runDatasets(summary json.RawMessage) map[string]datasetEntry {
	out := map[string]datasetEntry{}
	var m map[string]json.RawMessage
	if len(summary) == 0 || json.Unmarshal(summary, &m) != nil || len(m[datasetsKey]) == 0 {
		return out
	}
	json.Unmarshal(m[datasetsKey], &out)
	for k, d := range out {
		if d.Name == "" || d.Digest == "" {
			delete(out, k) // not a dataset this handler wrote
		}
	}
	return out
}

// runInputs returns MLflow's RunInputs of a run: its datasets, in the
// order of their keys.
func runInputs(summary json.RawMessage) map[string]any {
	all := runDatasets(summary)
	if len(all) == 0 {
		return map[string]any{}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ins := make([]datasetInput, 0, len(keys))
	for _, k := range keys {
		d := all[k]
		in := datasetInput{Tags: []keyValue{}, Dataset: d.datasetMsg}
		for _, t := range sortedKVs(d.Tags) {
			if t.Key == "context" {
				t.Key = tagDatasetContext
			}
			in.Tags = append(in.Tags, t)
		}
		ins = append(ins, in)
	}
	return map[string]any{"dataset_inputs": ins}
}

// logOutputs accepts a run's model outputs (runs/outputs, sent by
// log_model): the models are the run's already, as their files are in its
// folder.
func (h *handler) logOutputs(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		Models []struct {
			ModelID string  `json:"model_id"`
			Step    jsonInt `json:"step"`
		} `json:"models"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.id() == "" {
		return nil, missing("run_id")
	}
	run, err := h.run(r.Context(), q.id())
	if err != nil {
		return nil, err
	}
	for _, m := range q.Models {
		lm, err := h.readModel(r.Context(), m.ModelID, false)
		if err != nil {
			return nil, err
		}
		if lm.RunID != run.ID {
			return nil, invalidf("Logged model '%s' belongs to run %s: runlog keeps a model in the folder of the run that logged it, and cannot make it an output of run %s.", lm.ID, lm.RunID, run.ID)
		}
	}
	return struct{}{}, nil
}
