package mlflow

import (
	"errors"
	"net/http"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// maxHistoryResults bounds a page of metrics/get-history; the client asks
// for 25,000 at a time.
const maxHistoryResults = 1 << 20

// getMetricHistory returns every point of a series, in step order (points
// with equal steps in the order they were logged), a page at a time.
func (h *handler) getMetricHistory(r *http.Request) (any, error) {
	var q struct {
		runIDRequest
		Key        string  `json:"metric_key"`
		MaxResults jsonInt `json:"max_results"`
		PageToken  string  `json:"page_token"`
	}
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	if q.Key == "" {
		return nil, invalidf("Missing value for required parameter 'metric_key'.")
	}
	run, err := h.run(r.Context(), q.id())
	if err != nil {
		return nil, err
	}
	// A key the run never logged has an empty history, as in MLflow.
	pts, err := h.st.Points(r.Context(), run.ID, q.Key, store.PointsOptions{})
	if errors.Is(err, store.ErrNotFound) {
		pts, err = series.Points{}, nil
	}
	if err != nil {
		return nil, err
	}
	if !q.MaxResults.set {
		q.MaxResults = jsonInt{int64(max(pts.Len(), 1)), true}
	}
	start, end, next, err := page(pts.Len(), q.PageToken, q.MaxResults, max(maxHistoryResults, pts.Len()))
	if err != nil {
		return nil, err
	}
	out := struct {
		Metrics []metricOut `json:"metrics"`
		Next    string      `json:"next_page_token,omitempty"`
	}{Metrics: make([]metricOut, 0, end-start), Next: next}
	for i := start; i < end; i++ {
		out.Metrics = append(out.Metrics, metricOut{Key: q.Key, Value: number(pts.Values[i]), Timestamp: pts.Times[i], Step: pts.Steps[i]})
	}
	return out, nil
}
