package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// A logged metric is a point of the runlog series of the same key: MLflow's
// step is the step, its timestamp (unix milliseconds) the time, and the
// value any float64, NaN and the infinities included. Params are keys of
// the run's config, written once: the same value again is accepted, a
// different one refused, as MLflow does. Tags map as tags.go says.

func (h *handler) logMetric(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		metricMsg
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	p, err := toPoint(q.metricMsg, "")
	if err != nil {
		return nil, err
	}
	return h.log(r, q.id(), []point{p}, nil, nil)
}

func (h *handler) logParam(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		keyValue
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if err := checkParam(q.keyValue); err != nil {
		return nil, err
	}
	return h.log(r, q.id(), nil, []keyValue{q.keyValue}, nil)
}

func (h *handler) setTag(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		keyValue
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if err := checkTag(q.keyValue); err != nil {
		return nil, err
	}
	return h.log(r, q.id(), nil, nil, []keyValue{q.keyValue})
}

func (h *handler) deleteTag(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		Key string `json:"key"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	now := h.nowSeconds()
	err := h.change(r.Context(), q.id(), func(w *logWriter, run *store.Run) error {
		if err := h.activeRun(r.Context(), run); err != nil {
			return err
		}
		c := newTagChange(*run)
		if err := c.del(q.Key); err != nil {
			return err
		}
		return w.append(r.Context(), func(rs *records) error { return c.encode(rs, w.primary, now) })
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// batchRequest is the body of runs/log-batch.
type batchRequest struct {
	RunID   string      `json:"run_id"`
	Metrics []metricMsg `json:"metrics"`
	Params  []keyValue  `json:"params"`
	Tags    []keyValue  `json:"tags"`
}

func (h *handler) logBatch(r *http.Request) (any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatchBytes+1))
	if err != nil {
		return nil, errorf(codeBadRequest, "read request: %v", err)
	}
	if len(body) > maxBatchBytes {
		return nil, invalidf("Batched logging API requests must be at most %d bytes, got a request of more.", maxBatchBytes)
	}
	var q batchRequest
	if !decodeBatch(body, &q) {
		q = batchRequest{}
		if err := decodeJSON(body, &q); err != nil {
			return nil, err
		}
	}
	switch {
	case len(q.Metrics) > maxBatchItems:
		return nil, invalidf("A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", maxBatchItems, len(q.Metrics))
	case len(q.Params) > maxBatchParams:
		return nil, invalidf("A batch logging request can contain at most %d params. Got %d params. Please split up params across multiple requests and try again.", maxBatchParams, len(q.Params))
	case len(q.Tags) > maxBatchTags:
		return nil, invalidf("A batch logging request can contain at most %d tags. Got %d tags. Please split up tags across multiple requests and try again.", maxBatchTags, len(q.Tags))
	case len(q.Metrics)+len(q.Params)+len(q.Tags) > maxBatchItems:
		return nil, invalidf("A batch logging request can contain at most %d total metrics, params and tags. Got %d. Please split up across multiple requests and try again.", maxBatchItems, len(q.Metrics)+len(q.Params)+len(q.Tags))
	}
	pts := make([]point, len(q.Metrics))
	for i, m := range q.Metrics {
		if pts[i], err = toPoint(m, fmt.Sprintf("metrics[%d].", i)); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, p := range q.Params {
		if err := checkParam(p); err != nil {
			return nil, err
		}
		if seen[p.Key] {
			return nil, invalidf("Duplicate parameter keys have been submitted: ['%s']. Please ensure the request contains only one param value per param key.", p.Key)
		}
		seen[p.Key] = true
	}
	for _, t := range q.Tags {
		if err := checkTag(t); err != nil {
			return nil, err
		}
	}
	return h.log(r, q.RunID, pts, q.Params, q.Tags)
}

// log writes metrics, params and tags to a run at once: they are checked
// first, and written in one append, or not at all.
func (h *handler) log(r *http.Request, id string, pts []point, ps, tags []keyValue) (any, error) {
	now := h.nowSeconds()
	change := h.change
	if len(ps) == 0 && len(tags) == 0 {
		change = h.logPoints
	}
	err := change(r.Context(), id, func(w *logWriter, run *store.Run) error {
		if err := h.activeRun(r.Context(), run); err != nil {
			return err
		}
		cfg, err := addParams(run, ps)
		if err != nil {
			return err
		}
		c := newTagChange(*run)
		for _, t := range tags {
			if err := c.set(t.Key, t.Value); err != nil {
				return err
			}
		}
		return w.append(r.Context(), func(rs *records) error {
			if cfg != nil {
				rs.raw(runfmt.TypeConfig, cfg)
			}
			if err := c.encode(rs, w.primary, now); err != nil {
				return err
			}
			rs.metrics(pts)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// toPoint checks a metric of a request; path names it in errors.
func toPoint(m metricMsg, path string) (point, error) {
	if err := checkName(path+"key", m.Key); err != nil {
		return point{}, err
	}
	if !m.Value.set {
		return point{}, invalidf("Missing value for required parameter '%svalue'. See the API docs for more information about request parameters.", path)
	}
	if !m.Timestamp.set {
		return point{}, invalidf("Missing value for required parameter '%stimestamp'. See the API docs for more information about request parameters.", path)
	}
	if m.Timestamp.v < 0 || runfmt.CheckTime(float64(m.Timestamp.v)/1000) != nil {
		return point{}, invalidf("Invalid value %d for parameter '%stimestamp' supplied: metric '%s': Timestamp must be a nonnegative long (64-bit integer) of unix milliseconds", m.Timestamp.v, path, m.Key)
	}
	return point{key: m.Key, value: m.Value.v, ts: m.Timestamp.v, step: m.Step.v}, nil
}

func checkParam(p keyValue) error {
	if err := checkName("key", p.Key); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(p.Value); n > maxParamValue {
		return invalidf("Param value '%.40s…' had length %d, which exceeded length limit of %d", p.Value, n, maxParamValue)
	}
	return nil
}

// addParams returns the run's config with params ps added as top-level
// string values, appended to the config's JSON text so that what was there
// stays as it was; nil if every param is there already with the same
// value. A param the config has with another value is refused.
func addParams(run *store.Run, ps []keyValue) (json.RawMessage, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	flat := flatConfig(run.Config)
	var top map[string]json.RawMessage
	json.Unmarshal(run.Config, &top)
	raw := bytes.TrimSpace(run.Config)
	if len(raw) < 2 || raw[0] != '{' {
		raw = []byte("{}")
	}
	out := append([]byte(nil), raw[:len(raw)-1]...)
	added := len(top) > 0
	changed := false
	for _, p := range ps {
		if v, ok := flat[p.Key]; ok {
			if v != p.Value {
				return nil, invalidf("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.", p.Key, v, run.ID, p.Value)
			}
			continue
		}
		if _, ok := top[p.Key]; ok {
			return nil, invalidf("Param '%s' cannot be logged: the run's config has an object of that name", p.Key)
		}
		k, _ := runfmt.MarshalJSON(p.Key)
		v, _ := runfmt.MarshalJSON(p.Value)
		if added {
			out = append(out, ',')
		}
		out = append(append(append(out, k...), ':'), v...)
		added, changed = true, true
	}
	if !changed {
		return nil, nil
	}
	out = append(out, '}')
	if len(out) > runfmt.MaxConfigSize {
		return nil, invalidf("%v: the run's config would be %d bytes of JSON, the limit is %d", runfmt.ErrInvalid, len(out), runfmt.MaxConfigSize)
	}
	return out, nil
}
