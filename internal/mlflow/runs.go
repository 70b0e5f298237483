package mlflow

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/http"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// MLflow's run statuses and runlog's.
var (
	toRunlogStatus = map[string]string{"RUNNING": runfmt.StatusRunning, "SCHEDULED": runfmt.StatusRunning,
		"FINISHED": runfmt.StatusFinished, "FAILED": runfmt.StatusFailed, "KILLED": runfmt.StatusKilled}
	toMLflowStatus = map[string]string{runfmt.StatusRunning: "RUNNING", runfmt.StatusFinished: "FINISHED",
		runfmt.StatusFailed: "FAILED", runfmt.StatusKilled: "KILLED", runfmt.StatusCrashed: "FAILED"}
)

// artifactURI returns the artifact_uri of a run: the client sends its
// files to this server's artifacts API, which keeps them in the run
// folder's artifacts/.
func artifactURI(expID, runID string) string {
	return "mlflow-artifacts:/" + expID + "/" + runID + "/artifacts"
}

// run returns the run with id from the store, or MLflow's 404.
func (h *handler) run(ctx context.Context, id string) (store.Run, error) {
	if id == "" {
		return store.Run{}, invalidf("Missing value for required parameter 'run_id'.")
	}
	r, err := h.st.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, errorf(codeNotFound, "Run with id=%s not found", id)
	}
	return r, err
}

// toRun converts a run of the store into MLflow's form.
func (h *handler) toRun(ctx context.Context, r *store.Run, exp experiment) (runOut, error) {
	ser, err := h.st.Series(ctx, r.ID)
	if err != nil {
		return runOut{}, err
	}
	return makeRun(r, exp, ser), nil
}

func makeRun(r *store.Run, exp experiment, ser []store.Series) runOut {
	out := runOut{
		Info: runInfo{
			RunID: r.ID, RunUUID: r.ID, RunName: r.Name, ExperimentID: exp.ID, UserID: r.User,
			Status: toMLflowStatus[r.Status], StartTime: ms(r.Start), ArtifactURI: artifactURI(exp.ID, r.ID),
			LifecycleStage: lifecycle(r, exp),
		},
		Data:    runData{Metrics: []metricOut{}, Params: params(r.Config), Tags: runTags(r)},
		Inputs:  runInputs(r.Summary),
		Outputs: map[string]any{},
	}
	if r.End > 0 {
		end := ms(r.End)
		out.Info.EndTime = &end
	}
	for _, s := range ser {
		if s.Stats.Count == 0 {
			continue
		}
		p := s.Stats.Last
		out.Data.Metrics = append(out.Data.Metrics, metricOut{Key: s.Key, Value: number(p.Value), Timestamp: p.Time, Step: p.Step})
	}
	return out
}

// lifecycle returns MLflow's life-cycle stage of a run: deleted if the run
// has the runlog tag "deleted" or its experiment is deleted.
func lifecycle(r *store.Run, exp experiment) string {
	if exp.Stage == stageDeleted || slices.Contains(r.Tags, deletedTag) {
		return stageDeleted
	}
	return stageActive
}

// runAndExperiment returns the run id and its experiment.
func (h *handler) runAndExperiment(ctx context.Context, id string) (store.Run, experiment, error) {
	run, err := h.run(ctx, id)
	if err != nil {
		return store.Run{}, experiment{}, err
	}
	exp, err := h.experimentOfRun(ctx, &run)
	return run, exp, err
}

// experimentOfRun returns the experiment of a run's project.
func (h *handler) experimentOfRun(ctx context.Context, r *store.Run) (experiment, error) {
	m, err := h.exps.ensure(ctx, []string{r.Project})
	if err != nil {
		return experiment{}, err
	}
	return m[r.Project], nil
}

type runIDRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (q runIDRequest) id() string {
	if q.RunID != "" {
		return q.RunID
	}
	return q.RunUUID
}

func (h *handler) getRun(r *http.Request) (any, error) {
	var q runIDRequest
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	run, exp, err := h.runAndExperiment(r.Context(), q.id())
	if err != nil {
		return nil, err
	}
	out, err := h.toRun(r.Context(), &run, exp)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": out}, nil
}

func (h *handler) createRun(r *http.Request) (any, error) {
	var q struct {
		ExperimentID string     `json:"experiment_id"`
		UserID       string     `json:"user_id"`
		StartTime    jsonInt    `json:"start_time"`
		Tags         []keyValue `json:"tags"`
		RunName      string     `json:"run_name"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.ExperimentID == "" {
		q.ExperimentID = defaultExperimentID
	}
	exp, ok, err := h.exps.byID(r.Context(), q.ExperimentID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(codeNotFound, "No Experiment with id=%s exists", q.ExperimentID)
	}
	if exp.Stage != stageActive {
		return nil, invalidf("The experiment %s must be in the 'active' state. Current state is %s.", exp.ID, exp.Stage)
	}
	tags := map[string]string{}
	for _, t := range q.Tags {
		if err := checkTag(t); err != nil {
			return nil, err
		}
		tags[t.Key] = t.Value
	}
	name := q.RunName
	if tn, ok := tags[tagRunName]; ok {
		if name != "" && tn != name {
			return nil, invalidf("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", name, tn)
		}
		name = tn
	}
	if name == "" {
		name = randomName()
	}
	if err := runfmt.CheckName("run name", name); err != nil {
		return nil, invalidf("%v", err)
	}
	start := h.nowSeconds()
	if q.StartTime.set && q.StartTime.v > 0 {
		start = float64(q.StartTime.v) / 1000
	}
	if err := runfmt.CheckTime(start); err != nil {
		return nil, invalidf("start_time: %v", err)
	}
	user := q.UserID
	if u, ok := tags[tagUser]; ok {
		user = u
	}
	// mlflow.parentRunId is kept as given, as MLflow's server does: the
	// parent may be logged to another server, or not exist.
	hd := runfmt.Header{Format: 1, Name: name, Project: exp.Project, Time: start, User: user,
		Writer: writerName, Parent: tags[tagParent]}
	if src := tags[tagSource]; src != "" {
		hd.Command = []string{src}
	}
	if tags[tagCommit] != "" {
		hd.Git = &runfmt.Git{Commit: tags[tagCommit], Branch: tags[tagBranch], Remote: tags[tagRepo]}
	}
	// The remaining tags go through the same mapping as set-tag's.
	c := newTagChange(store.Run{Name: name, User: user, Parent: hd.Parent})
	for _, t := range q.Tags {
		if err := c.set(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	hd.Tags, hd.Notes = c.run.Tags, c.run.Notes
	w, err := h.createLog(r.Context(), hd, c.summary)
	if err != nil {
		return nil, err
	}
	defer w.mu.Unlock()
	if err := h.index(r.Context(), w); err != nil {
		return nil, err
	}
	run, err := h.run(r.Context(), w.id)
	if err != nil {
		return nil, err
	}
	out, err := h.toRun(r.Context(), &run, exp)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": out}, nil
}

// createLog creates the run.log of a new run, with its header and the
// summary values of its system tags, durably, and returns its writer,
// locked.
func (h *handler) createLog(ctx context.Context, hd runfmt.Header, summary map[string]any) (*logWriter, error) {
	for range 10 {
		hd.ID = layout.NewID()
		w := &logWriter{id: hd.ID}
		log, err := h.b.CreateRun(ctx, hd, func(enc *runfmt.Encoder) error {
			if len(summary) > 0 {
				return enc.JSON(runfmt.TypeSummary, summary)
			}
			return nil
		}, w.logOptions())
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		w.setLog(log)
		h.logs.add(w)
		return w, nil
	}
	return nil, fmt.Errorf("create run: no free run id")
}

// index brings the store up to date with the run's logs. A write that is
// stored but not yet indexed is answered with TEMPORARILY_UNAVAILABLE: the
// client retries, the retry writes nothing new (identical metrics are kept
// once, params and tags are already set), and indexes.
func (h *handler) index(ctx context.Context, w *logWriter) error {
	if err := w.log.Index(ctx); err != nil {
		return errorf(codeUnavailable, "run %s: %v", w.id, err)
	}
	return nil
}

// change runs fn on the run id with its writer held, and indexes what fn
// wrote. fn sees the run as the store has it.
func (h *handler) change(ctx context.Context, id string, fn func(w *logWriter, r *store.Run) error) error {
	return h.modify(ctx, id, fn, true)
}

// logPoints runs fn, which appends only metrics, on the run id with its
// writer held, and leaves what it wrote to be indexed by the next call
// that reads (catchUp) or by the server's indexer, whichever comes first.
// Metrics change nothing that fn's checks read from the store (status,
// config, tags), and indexing a batch at once is most of a log-batch's
// cost: deferred, consecutive batches are indexed together.
func (h *handler) logPoints(ctx context.Context, id string, fn func(w *logWriter, r *store.Run) error) error {
	return h.modify(ctx, id, fn, false)
}

// catchUp indexes the runs whose acknowledged metrics the store does not
// have yet.
func (h *handler) catchUp(ctx context.Context) error {
	h.mu.Lock()
	if len(h.unindexed) == 0 {
		h.mu.Unlock()
		return nil
	}
	ws := make([]*logWriter, 0, len(h.unindexed))
	for _, w := range h.unindexed {
		ws = append(ws, w)
	}
	h.mu.Unlock()
	for _, w := range ws {
		if err := h.indexPending(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// indexPending indexes w's run if it is still waiting, with the writer
// held so no record is half written meanwhile.
func (h *handler) indexPending(ctx context.Context, w *logWriter) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	h.mu.Lock()
	waiting := h.unindexed[w.id] == w
	h.mu.Unlock()
	if !waiting {
		return nil
	}
	if err := h.index(ctx, w); err != nil {
		return err
	}
	h.mu.Lock()
	if h.unindexed[w.id] == w {
		delete(h.unindexed, w.id)
	}
	h.mu.Unlock()
	return nil
}

// modify runs fn on the run id with its writer held, then indexes the run
// or, if index is false and the handler may defer it, leaves it for
// catchUp.
func (h *handler) modify(ctx context.Context, id string, fn func(w *logWriter, r *store.Run) error, index bool) error {
	if id == "" {
		return invalidf("Missing value for required parameter 'run_id'.")
	}
	index = index || !h.deferIndex
	w, err := h.logs.get(ctx, h.b, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(codeNotFound, "Run with id=%s not found", id)
	}
	if err != nil {
		return err
	}
	defer w.mu.Unlock()
	r, err := h.run(ctx, id)
	if err != nil {
		return err
	}
	if err := fn(w, &r); err != nil {
		return err
	}
	h.mu.Lock()
	delete(h.unindexed, id)
	if !index {
		h.unindexed[id] = w
	}
	h.mu.Unlock()
	if !index {
		return nil
	}
	// Index even if fn wrote nothing: a retried request finds its records
	// on disk, perhaps not yet in the store.
	if err := h.index(ctx, w); err != nil {
		h.mu.Lock()
		h.unindexed[id] = w
		h.mu.Unlock()
		return err
	}
	return nil
}

// activeRun refuses changes to a deleted run, as MLflow does.
func (h *handler) activeRun(ctx context.Context, r *store.Run) error {
	exp, err := h.experimentOfRun(ctx, r)
	if err != nil {
		return err
	}
	if lifecycle(r, exp) != stageActive {
		return invalidf("The run %s must be in the 'active' state. Current state is deleted.", r.ID)
	}
	return nil
}

func (h *handler) updateRun(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		Status  enum    `json:"status"`
		EndTime jsonInt `json:"end_time"`
		RunName *string `json:"run_name"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	var status string
	if q.Status != "" {
		var ok bool
		if status, ok = toRunlogStatus[q.Status.name(runStatusNames)]; !ok {
			return nil, invalidf("Invalid value %q for parameter 'status'", q.Status)
		}
	}
	now := h.nowSeconds()
	err := h.change(r.Context(), q.id(), func(w *logWriter, run *store.Run) error {
		if err := h.activeRun(r.Context(), run); err != nil {
			return err
		}
		c := newTagChange(*run)
		if q.RunName != nil && *q.RunName != "" {
			c.set(tagRunName, *q.RunName)
		}
		return w.append(r.Context(), func(rs *records) error {
			if err := c.encode(rs, w.primary, now); err != nil {
				return err
			}
			if status == "" {
				return nil
			}
			t := now
			if q.EndTime.set && q.EndTime.v > 0 && status != runfmt.StatusRunning {
				t = float64(q.EndTime.v) / 1000
			}
			if status == runfmt.StatusRunning && run.Status != runfmt.StatusRunning {
				// MLflow resumes a finished run this way: a new process
				// continues it. The status must be newer than the end
				// the client gave, whatever its clock says.
				t = max(t, run.End+0.001)
				rs.json(runfmt.TypeResume, runfmt.Resume{Time: t})
			}
			if status != run.Status || t != run.End {
				rs.json(runfmt.TypeStatus, runfmt.Status{Status: status, Time: t})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	run, exp, err := h.runAndExperiment(r.Context(), q.id())
	if err != nil {
		return nil, err
	}
	return map[string]any{"run_info": makeRun(&run, exp, nil).Info}, nil
}

func (h *handler) deleteRun(r *http.Request) (any, error) { return h.setLifecycle(r, true) }

func (h *handler) restoreRun(r *http.Request) (any, error) { return h.setLifecycle(r, false) }

// setLifecycle deletes or restores a run: runlog tags it "deleted".
func (h *handler) setLifecycle(r *http.Request, deleted bool) (any, error) {
	var q runIDRequest
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	now := h.nowSeconds()
	err := h.change(r.Context(), q.id(), func(w *logWriter, run *store.Run) error {
		if slices.Contains(run.Tags, deletedTag) == deleted {
			return nil
		}
		a := runfmt.Annotate{Time: now}
		if deleted {
			a.AddTags = []string{deletedTag}
		} else {
			a.RemoveTags = []string{deletedTag}
		}
		return w.append(r.Context(), func(rs *records) error {
			rs.json(runfmt.TypeAnnotate, a)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// randomName returns a name for a run that was given none, as MLflow's
// server does: an adjective, an animal and a number.
func randomName() string {
	adjectives := []string{"amazing", "bold", "brave", "bright", "calm", "clever", "eager", "gentle", "happy",
		"keen", "lucky", "merry", "nimble", "quiet", "rare", "sharp", "swift", "vivid", "wise", "zesty"}
	animals := []string{"ant", "bat", "bear", "crab", "crow", "deer", "duck", "eel", "fox", "frog", "goat",
		"hawk", "lark", "lynx", "mole", "owl", "seal", "slug", "toad", "wolf"}
	pick := func(n int) int {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
		return int(v.Int64())
	}
	return fmt.Sprintf("%s-%s-%d", adjectives[pick(len(adjectives))], animals[pick(len(animals))], pick(1000))
}

// params returns a run's config as MLflow params: nested objects become
// dotted keys, strings stay as they are, and every other value is its JSON
// text as it is in the config.
func params(raw json.RawMessage) []keyValue {
	flat := flatConfig(raw)
	out := make([]keyValue, 0, len(flat))
	for k, v := range flat {
		out = append(out, keyValue{k, v})
	}
	slices.SortFunc(out, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// flatConfig returns the config's leaves by dotted key.
func flatConfig(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return out
	}
	flattenInto("", m, out)
	return out
}

func flattenInto(prefix string, m map[string]json.RawMessage, out map[string]string) {
	for k, v := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		var sub map[string]json.RawMessage
		if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &sub) == nil && len(sub) > 0 {
			flattenInto(k, sub, out)
			continue
		}
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		out[k] = string(v)
	}
}
