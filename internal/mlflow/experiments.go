package mlflow

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/store"
)

func toExperiment(e experiment) experimentOut {
	out := experimentOut{ExperimentID: e.ID, Name: e.Name, ArtifactLocation: "mlflow-artifacts:/" + e.ID,
		LifecycleStage: e.Stage, CreationTime: e.Created, LastUpdateTime: e.Updated, Tags: []keyValue{}}
	for k, v := range e.Tags {
		out.Tags = append(out.Tags, keyValue{k, v})
	}
	slices.SortFunc(out.Tags, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (h *handler) getExperimentByName(r *http.Request) (any, error) {
	var q struct {
		Name string `json:"experiment_name"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.Name == "" {
		return nil, invalidf("Missing value for required parameter 'experiment_name'.")
	}
	e, ok, err := h.exps.byName(r.Context(), q.Name)
	if err != nil {
		return nil, err
	}
	if !ok {
		// A project that runlog's own clients wrote to is an experiment too.
		runs, err := h.st.Runs(r.Context(), store.Filter{Project: q.Name, Limit: 1, Brief: true})
		if err != nil {
			return nil, err
		}
		if len(runs) == 0 {
			return nil, errorf(codeNotFound, "Could not find experiment with name '%s'", q.Name)
		}
		m, err := h.exps.ensure(r.Context(), []string{q.Name})
		if err != nil {
			return nil, err
		}
		e = m[q.Name]
	}
	return map[string]any{"experiment": toExperiment(e)}, nil
}

func (h *handler) getExperiment(r *http.Request) (any, error) {
	var q struct {
		ID string `json:"experiment_id"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	e, ok, err := h.exps.byID(r.Context(), q.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(codeNotFound, "No Experiment with id=%s exists", q.ID)
	}
	return map[string]any{"experiment": toExperiment(e)}, nil
}

func (h *handler) createExperiment(r *http.Request) (any, error) {
	var q struct {
		Name             string     `json:"name"`
		ArtifactLocation string     `json:"artifact_location"`
		Tags             []keyValue `json:"tags"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if err := checkExperimentName(q.Name); err != nil {
		return nil, err
	}
	if err := checkArtifactLocation(q.ArtifactLocation); err != nil {
		return nil, err
	}
	tags, err := kvMap(q.Tags, func(kv keyValue) error { return checkName("key", kv.Key) })
	if err != nil {
		return nil, err
	}
	// The name of a project with runs is taken, as an experiment's is.
	runs, err := h.st.Runs(r.Context(), store.Filter{Project: q.Name, Limit: 1, Brief: true})
	if err != nil {
		return nil, err
	}
	if len(runs) > 0 {
		return nil, errorf(codeAlreadyExists, "Experiment '%s' already exists.", q.Name)
	}
	e, err := h.exps.create(r.Context(), q.Name, tags)
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment_id": e.ID}, nil
}

// checkArtifactLocation refuses an artifact_location for a new experiment:
// runlog keeps every file of a run in the run's folder, where `runlog
// show` and the UI find it, so it cannot put them where the client asks,
// and it does not pretend to. A location equal to the one runlog would
// give is not a request for another place and is not sent by the client,
// so only the empty location is accepted.
func checkArtifactLocation(loc string) error {
	if loc == "" {
		return nil
	}
	return invalidf("Invalid value %q for parameter 'artifact_location' supplied: runlog keeps an experiment's "+
		"artifacts in the folders of its runs (artifact_uri mlflow-artifacts:/<experiment>/<run>/artifacts) "+
		"and cannot store them elsewhere; create the experiment without an artifact_location.", loc)
}

func (h *handler) updateExperiment(r *http.Request) (any, error) {
	var q struct {
		ID      string `json:"experiment_id"`
		NewName string `json:"new_name"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if err := checkExperimentName(q.NewName); err != nil {
		return nil, err
	}
	err := h.exps.change(r.Context(), q.ID, func(d *registryFile, e *experiment) error {
		if e.Stage != stageActive {
			return invalidf("Cannot rename a non-active experiment.")
		}
		for _, x := range d.Experiments {
			if x.ID != e.ID && (x.Name == q.NewName || x.Project == q.NewName) {
				return errorf(codeAlreadyExists, "Experiment '%s' already exists.", q.NewName)
			}
		}
		e.Name = q.NewName
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) deleteExperiment(r *http.Request) (any, error) {
	return h.setExperimentStage(r, stageDeleted)
}

func (h *handler) restoreExperiment(r *http.Request) (any, error) {
	return h.setExperimentStage(r, stageActive)
}

// setExperimentStage deletes or restores an experiment; its runs are shown
// as deleted while it is.
func (h *handler) setExperimentStage(r *http.Request, stage string) (any, error) {
	var q struct {
		ID string `json:"experiment_id"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.ID == defaultExperimentID && stage == stageDeleted {
		return nil, invalidf("Cannot delete the default experiment '0'. This is an internally reserved experiment.")
	}
	err := h.exps.change(r.Context(), q.ID, func(_ *registryFile, e *experiment) error {
		e.Stage = stage
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) setExperimentTag(r *http.Request) (any, error) {
	var q struct {
		ID string `json:"experiment_id"`
		keyValue
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if err := checkName("key", q.Key); err != nil {
		return nil, err
	}
	err := h.exps.change(r.Context(), q.ID, func(_ *registryFile, e *experiment) error {
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		e.Tags[q.Key] = q.Value
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) deleteExperimentTag(r *http.Request) (any, error) {
	var q struct {
		ID  string `json:"experiment_id"`
		Key string `json:"key"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	err := h.exps.change(r.Context(), q.ID, func(_ *registryFile, e *experiment) error {
		if _, ok := e.Tags[q.Key]; !ok {
			return errorf(codeNotFound, "No tag with name: %s in experiment with id %s", q.Key, e.ID)
		}
		delete(e.Tags, q.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// searchExperiments lists experiments: those in the registry and every
// project of the store, which gets an id on first sight.
func (h *handler) searchExperiments(r *http.Request) (any, error) {
	var q struct {
		ViewType   enum     `json:"view_type"`
		MaxResults jsonInt  `json:"max_results"`
		Filter     string   `json:"filter"`
		OrderBy    []string `json:"order_by"`
		PageToken  string   `json:"page_token"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	clauses, err := parseFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	orders, err := parseOrder(q.OrderBy)
	if err != nil {
		return nil, err
	}
	runs, err := h.st.Runs(r.Context(), store.Filter{Brief: true})
	if err != nil {
		return nil, err
	}
	var projects []string
	for _, run := range runs {
		if !slices.Contains(projects, run.Project) {
			projects = append(projects, run.Project)
		}
	}
	if _, err := h.exps.ensure(r.Context(), projects); err != nil {
		return nil, err
	}
	all, err := h.exps.list(r.Context())
	if err != nil {
		return nil, err
	}
	view := q.ViewType.name(viewTypeNames)
	var exps []experiment
	for _, e := range all {
		if (view == "" || view == "ACTIVE_ONLY") && e.Stage != stageActive || view == "DELETED_ONLY" && e.Stage != stageDeleted {
			continue
		}
		if ok, err := matchExperiment(e, clauses); err != nil {
			return nil, err
		} else if ok {
			exps = append(exps, e)
		}
	}
	if len(orders) == 0 {
		// MLflow's SqlAlchemyStore: newest first, then by id.
		orders = []order{{ident{entityAttribute, "creation_time"}, true}}
	}
	orders = append(orders, order{ident{entityAttribute, "experiment_id"}, false})
	slices.SortStableFunc(exps, func(a, b experiment) int {
		for _, o := range orders {
			if c := experimentValue(a, o.ident).compare(experimentValue(b, o.ident), o.desc); c != 0 {
				return c
			}
		}
		return 0
	})
	start, end, next, err := page(len(exps), q.PageToken, q.MaxResults, maxSearchResults)
	if err != nil {
		return nil, err
	}
	out := struct {
		Experiments []experimentOut `json:"experiments"`
		Next        string          `json:"next_page_token,omitempty"`
	}{Experiments: []experimentOut{}, Next: next}
	for _, e := range exps[start:end] {
		out.Experiments = append(out.Experiments, toExperiment(e))
	}
	return out, nil
}

func experimentValue(e experiment, id ident) sortValue {
	if id.entity == entityTag {
		if v, ok := e.Tags[id.key]; ok {
			return sortValue{str: v}
		}
		return sortValue{rank: 2}
	}
	switch id.key {
	case "run_name": // "name"
		return sortValue{str: e.Name}
	case "experiment_id", "run_id":
		n, _ := strconv.ParseFloat(e.ID, 64) // ids are numbers
		return sortValue{num: n, str: e.ID}
	case "start_time", "creation_time":
		return sortValue{num: float64(e.Created)}
	case "last_update_time", "end_time":
		return sortValue{num: float64(e.Updated)}
	case "lifecycle_stage":
		return sortValue{str: e.Stage}
	}
	return sortValue{rank: 2}
}

func matchExperiment(e experiment, clauses []clause) (bool, error) {
	for i := range clauses {
		c := &clauses[i]
		if c.entity != entityTag && c.entity != entityAttribute {
			return false, invalidf("Invalid entity type '%s' in an experiment filter: use name, tags., creation_time or last_update_time", c.entity)
		}
		v := experimentValue(e, c.ident)
		switch {
		case c.op == "IS NULL":
			if v.rank != 2 {
				return false, nil
			}
		case c.op == "IS NOT NULL":
			if v.rank == 2 {
				return false, nil
			}
		case v.rank == 2:
			return false, nil
		case c.numeric():
			if !c.matchNumber(v.num) {
				return false, nil
			}
		default:
			if !c.matchString(v.str) {
				return false, nil
			}
		}
	}
	return true, nil
}
