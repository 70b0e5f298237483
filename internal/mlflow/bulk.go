package mlflow

import (
	"cmp"
	"errors"
	"net/http"
	"slices"

	"github.com/runlog/runlog/internal/store"
)

// Limits of metrics/get-history-bulk-interval (mlflow/server/handlers.py).
const (
	maxBulkRuns       = 100
	maxBulkRunResults = 2500
)

// bulkMetric is a metric of metrics/get-history-bulk-interval: a point and
// its run.
type bulkMetric struct {
	metricOut
	RunID string `json:"run_id"`
}

// getMetricHistoryBulkInterval returns a sample of at most max_results
// points of a metric per run, as MLflow's SqlAlchemyStore samples: the
// points in [start_step, end_step] (all of them if neither is given),
// ordered by step, timestamp and value, are cut into max_results buckets
// of nearly equal size (SQL's NTILE), the first point of each is kept,
// and the last point always is, in place of the last sampled one if the
// sample is full.
func (h *handler) getMetricHistoryBulkInterval(r *http.Request) (any, error) {
	var q struct {
		RunIDs     []string `json:"run_ids"`
		Key        string   `json:"metric_key"`
		StartStep  jsonInt  `json:"start_step"`
		EndStep    jsonInt  `json:"end_step"`
		MaxResults jsonInt  `json:"max_results"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	switch {
	case len(q.RunIDs) == 0:
		return nil, missing("run_ids")
	case len(q.RunIDs) > maxBulkRuns:
		return nil, invalidf("GetMetricHistoryBulkInterval request must specify at most %d run_ids. Received %d run_ids.%s", maxBulkRuns, len(q.RunIDs), apiDocsHint)
	case q.Key == "":
		return nil, missing("metric_key")
	case q.MaxResults.set && (q.MaxResults.v < 1 || q.MaxResults.v > maxBulkRunResults):
		return nil, invalidf("max_results must be between 1 and %d.%s", maxBulkRunResults, apiDocsHint)
	case q.StartStep.set != q.EndStep.set:
		return nil, invalidf("If either start step or end step are specified, both must be specified.")
	case q.StartStep.set && q.StartStep.v > q.EndStep.v:
		return nil, invalidf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", q.StartStep.v, q.EndStep.v)
	}
	n := maxBulkRunResults
	if q.MaxResults.set {
		n = int(q.MaxResults.v)
	}
	// Every run must exist before any is read, as in MLflow.
	runs := make([]store.Run, len(q.RunIDs))
	for i, id := range q.RunIDs {
		run, err := h.run(r.Context(), id)
		if err != nil {
			return nil, err
		}
		runs[i] = run
	}
	out := struct {
		Metrics []bulkMetric `json:"metrics"`
	}{Metrics: []bulkMetric{}}
	for _, run := range runs {
		pts, err := h.st.Points(r.Context(), run.ID, q.Key, store.PointsOptions{})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var ms []metricOut
		for i := range pts.Len() {
			s := pts.Steps[i]
			if q.StartStep.set && (s < q.StartStep.v || s > q.EndStep.v) {
				continue
			}
			ms = append(ms, metricOut{Key: q.Key, Value: number(pts.Values[i]), Timestamp: pts.Times[i], Step: s})
		}
		for _, m := range sampleBuckets(ms, n) {
			out.Metrics = append(out.Metrics, bulkMetric{m, run.ID})
		}
	}
	return out, nil
}

// sampleBuckets sorts ms by step, timestamp and value and returns the
// first of each of n buckets, and the last of ms.
func sampleBuckets(ms []metricOut, n int) []metricOut {
	slices.SortStableFunc(ms, func(a, b metricOut) int {
		return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Value, b.Value))
	})
	if len(ms) <= n {
		return ms
	}
	size, extra := len(ms)/n, len(ms)%n
	out := make([]metricOut, 0, n)
	for i, b := 0, 0; b < n; b++ {
		out = append(out, ms[i])
		i += size
		if b < extra {
			i++
		}
	}
	if last := ms[len(ms)-1]; out[len(out)-1] != last {
		out[len(out)-1] = last // the sample is full: len(ms) > n
	}
	return out
}
