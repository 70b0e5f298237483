// Package mlflow serves the MLflow tracking REST API over a runlog home, so
// that the unmodified mlflow client (mlflow.set_tracking_uri pointed at
// runlog) logs to runlog.
//
// Nothing here writes the store. Every call that changes a run becomes
// records in the run's log — run.log for a run created through MLflow,
// written by this handler alone; run.mlflow.log, an attached log, for a run
// some other writer created — durable before the response, and the run is
// then indexed so that the next runs/get or runs/search sees the write.
// Where logs, files and the experiments are kept is the backend's
// (internal/mlflow/mlbackend): a home's run folders, or a team server's
// PostgreSQL and bucket. How MLflow's concepts map to runlog's is
// documented in docs/mlflow-and-tensorboard.md.
package mlflow

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/httpapi"
	"github.com/runlog/runlog/internal/mlflow/mlbackend"
	"github.com/runlog/runlog/internal/store"
)

// Path prefixes of the two APIs. The handler expects the full path: mount
// it at both prefixes without http.StripPrefix.
const (
	TrackingPrefix  = "/api/2.0/mlflow/"
	ArtifactsPrefix = "/api/2.0/mlflow-artifacts/"
)

// Options tune the handler.
type Options struct {
	// Warn receives problems that do not fail a request, such as corrupt
	// records skipped while a run is indexed. Nil drops them.
	Warn func(error)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxArtifactBytes bounds the size of one artifact upload, which
	// streams to disk and is exempt from the server's limit on request
	// bodies; 0 means DefaultMaxArtifactBytes (20 GiB).
	MaxArtifactBytes int64
	// Backend, when set, is where the handler keeps what it stores (a team
	// server's); nil means the home's files.
	Backend mlbackend.Backend
}

// handler serves the MLflow APIs for one home or team server.
type handler struct {
	st     store.Store
	b      mlbackend.Backend
	opt    Options
	exps   *registry
	logs   *writers
	routes map[string]route

	// deferIndex says that runs whose only change is new metrics may be
	// indexed later (logPoints): on a home, whose one handler reads after
	// every write. On a team server another replica may serve the next
	// read, so every write is indexed before it is acknowledged.
	deferIndex bool

	// unindexed holds the writers of runs whose latest metrics are
	// stored but not yet in the store's index: log-metric and log-batch
	// answer once their points are durable, and every other call indexes
	// these runs first, so it reads what was acknowledged (see catchUp).
	mu        sync.Mutex
	unindexed map[string]*logWriter
}

// route is one endpoint: it decodes its request into a fresh value and
// returns the response to encode as JSON.
type route func(h *handler, r *http.Request) (any, error)

// routeTable is the tracking API: "METHOD path under TrackingPrefix" to
// its route; logged models by id are modelRoute's.
var routeTable = map[string]route{
	"GET experiments/get-by-name":            (*handler).getExperimentByName,
	"POST experiments/create":                (*handler).createExperiment,
	"GET experiments/get":                    (*handler).getExperiment,
	"POST experiments/search":                (*handler).searchExperiments,
	"GET experiments/search":                 (*handler).searchExperiments,
	"POST experiments/update":                (*handler).updateExperiment,
	"POST experiments/delete":                (*handler).deleteExperiment,
	"POST experiments/restore":               (*handler).restoreExperiment,
	"POST experiments/set-experiment-tag":    (*handler).setExperimentTag,
	"POST experiments/delete-experiment-tag": (*handler).deleteExperimentTag,
	"POST runs/create":                       (*handler).createRun,
	"GET runs/get":                           (*handler).getRun,
	"POST runs/update":                       (*handler).updateRun,
	"POST runs/delete":                       (*handler).deleteRun,
	"POST runs/restore":                      (*handler).restoreRun,
	"POST runs/search":                       (*handler).searchRuns,
	"POST runs/log-metric":                   (*handler).logMetric,
	"POST runs/log-batch":                    (*handler).logBatch,
	"POST runs/log-parameter":                (*handler).logParam,
	"POST runs/set-tag":                      (*handler).setTag,
	"POST runs/delete-tag":                   (*handler).deleteTag,
	"GET metrics/get-history":                (*handler).getMetricHistory,
	"GET artifacts/list":                     (*handler).listRunArtifacts,
	"POST logged-models/search":              (*handler).searchLoggedModels,
	"GET metrics/get-history-bulk-interval":  (*handler).getMetricHistoryBulkInterval,
	"POST runs/log-inputs":                   (*handler).logInputs,
	"POST runs/outputs":                      (*handler).logOutputs,
	"POST logged-models":                     (*handler).createLoggedModel,
}

// Endpoints lists the calls of routeTable, "METHOD path" with the path
// under TrackingPrefix, for the server's authorization tests.
func Endpoints() []string {
	out := make([]string, 0, len(routeTable))
	for k := range routeTable {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewHandler returns the handler of the MLflow tracking API
// (TrackingPrefix) and artifacts API (ArtifactsPrefix) for the runs of
// home, indexed into st, or of opt.Backend if set (home is then not
// used).
// r.URL.Path must hold the full path, such as /api/2.0/mlflow/runs/create.
// Requests to any other path are answered with MLflow's 404
// ENDPOINT_NOT_FOUND.
func NewHandler(st store.Store, home string, opt Options) http.Handler {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	b := opt.Backend
	if b == nil {
		b = &homeBackend{st: st, home: home, warn: opt.Warn}
	}
	h := &handler{st: st, b: b, opt: opt, exps: newRegistry(b, opt.Now), logs: newWriters(),
		deferIndex: opt.Backend == nil, unindexed: map[string]*logWriter{}, routes: routeTable}
	return limitedHandler{httpapi.Handle(h.serve, fail), h}
}

// serve is the one httpapi.Handler of both APIs: it finds the route and
// answers with what it returns, or returns its error to fail.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	if rest, ok := strings.CutPrefix(r.URL.Path, ArtifactsPrefix); ok {
		return h.serveArtifacts(w, r, rest)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, TrackingPrefix)
	fn := h.routes[r.Method+" "+rest]
	if fn == nil {
		fn = modelRoute(r.Method, rest) // logged-models/{model_id}/…
	}
	if !ok || fn == nil {
		return errorf(codeEndpointNotFound, "No API endpoint %s %s on this runlog server", r.Method, r.URL.Path)
	}
	if r.Method == http.MethodPost {
		if err := requireJSON(r); err != nil {
			return err
		}
	}
	if rest != "runs/log-metric" && rest != "runs/log-batch" {
		if err := h.catchUp(r.Context()); err != nil {
			return err
		}
	}
	resp, err := fn(h, r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// maxBody bounds a request body; log-batch has MLflow's own, smaller limit.
const maxBody = 16 << 20

// decode reads the request into v: the JSON body of a POST, the query of
// a GET.
func decode(r *http.Request, v any) error {
	var data []byte
	if r.Method == http.MethodGet {
		data = queryJSON(r.URL.Query())
	} else {
		var err error
		if data, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1)); err != nil {
			return errorf(codeBadRequest, "read request: %v", err)
		}
		if len(data) > maxBody {
			return errorf(codeInvalidParameter, "request of more than %d bytes", maxBody)
		}
	}
	return decodeJSON(data, v)
}

// requireJSON refuses a POST whose body is not declared JSON, with the
// error MLflow's server answers (_validate_content_type in
// mlflow/server/validation.py). The mlflow client always sends
// application/json; a page of another site can send text/plain or a form
// without the browser asking the server first, never application/json.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return invalidf("Bad Request. Content-Type header is missing.")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return invalidf("Bad Request. Content-Type must be one of ['application/json'].")
	}
	return nil
}

// decodeJSON decodes a request body (or a GET's query as JSON) into v; a
// POST's body is known to be declared JSON (requireJSON).
func decodeJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return requestError(data, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		body, _ = json.Marshal(errorf(codeInternal, "encode response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

func writeError(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	writeJSON(w, status(ae.Code), ae)
}

func (h *handler) warn(err error) {
	if h.opt.Warn != nil {
		h.opt.Warn(err)
	}
}

// ms returns unix seconds as MLflow's unix milliseconds.
func ms(t float64) int64 { return int64(t*1000 + 0.5) }

// nowSeconds returns the current unix time in seconds.
func (h *handler) nowSeconds() float64 {
	return float64(h.opt.Now().UnixMicro()) / 1e6
}
