package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// health answers whether the server is up, its version, how many runs it
// holds and how many run folders it found: while indexing fails (a full
// disk) the two differ, and index_error says why.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	n, onDisk, ierr := s.runs, s.onDisk, s.indexErr
	s.mu.Unlock()
	var msg string
	if ierr != nil {
		msg = ierr.Error()
	}
	writeJSON(w, http.StatusOK, struct {
		OK         bool   `json:"ok"`
		Version    string `json:"version"`
		Runs       int    `json:"runs"`
		RunsOnDisk int    `json:"runs_on_disk"`
		IndexError string `json:"index_error,omitempty"`
	}{true, s.opts.Version, n, onDisk, msg})
	return nil
}

// listedRun is a run of the list with what a query or a sort may ask of
// it.
type listedRun struct {
	run    store.Run
	status string
	ex     *runExtras
	// find looks up a series the extras lack: a run with more series than
	// a row carries is asked for the others one by one, as a query or a
	// sort names them.
	find  func(runID, key string) (store.Series, bool)
	found map[string]store.Series
}

// seriesOf returns the statistics of the run's series key.
func (l *listedRun) seriesOf(key string) (store.Series, bool) {
	if sr, ok := l.ex.series[key]; ok || !l.ex.more || l.find == nil {
		return sr, ok
	}
	if sr, ok := l.found[key]; ok {
		return sr, sr.Key != ""
	}
	sr, ok := l.find(l.run.ID, key)
	if l.found == nil {
		l.found = map[string]store.Series{}
	}
	l.found[key] = sr
	return sr, ok
}

func (l *listedRun) tags() []string { return l.run.Tags }

func (l *listedRun) text() []string {
	return append([]string{l.run.Name, l.run.Project}, l.run.Tags...)
}

func (l *listedRun) field(name string) (value, bool) {
	r := &l.run
	str := func(s string) (value, bool) { return value{s: s}, true }
	num := func(f float64) (value, bool) { return numberValue(f), true }
	switch name {
	case "id":
		return str(r.ID)
	case "name":
		return str(r.Name)
	case "project":
		return str(r.Project)
	case "group":
		return str(r.Group)
	case "status":
		return str(l.status)
	case "host":
		return str(r.Host)
	case "hypothesis":
		return str(r.Hypothesis)
	case "tag", "tags":
		return str(strings.Join(r.Tags, ","))
	case "exit_code":
		if r.ExitCode == nil {
			return value{}, false
		}
		return num(float64(*r.ExitCode))
	case "start_time":
		return num(r.Start)
	case "end_time":
		if r.End == 0 {
			return value{}, false
		}
		return num(r.End)
	case "last_time":
		return num(r.Last)
	case "last_step":
		if r.MaxStep < 0 {
			return value{}, false
		}
		return num(float64(r.MaxStep))
	case "wallclock_time":
		return num(r.Wallclock())
	case "active_time":
		return num(r.Active)
	case "train_loss", "val_loss":
		p := r.TrainLoss
		if name == "val_loss" {
			p = r.ValLoss
		}
		if p == nil {
			return value{}, false
		}
		return num(p.Value)
	}
	if key, ok := strings.CutPrefix(name, "config."); ok && l.ex != nil {
		raw, ok := l.ex.config[key]
		if !ok {
			return value{}, false
		}
		return rawJSONValue(raw)
	}
	if key, ok := strings.CutPrefix(name, "summary."); ok && l.ex != nil {
		if v, ok := l.ex.summary[key]; ok {
			return jsonValue(v)
		}
		if sr, ok := l.seriesOf(key); ok && sr.Stats.Count > 0 {
			return num(sr.Stats.Last.Value)
		}
		return value{}, false
	}
	if rest, ok := strings.CutPrefix(name, "metric."); ok && l.ex != nil {
		i := strings.LastIndexByte(rest, '.')
		sr, ok := l.seriesOf(rest[:i])
		if !ok || sr.Stats.Count == 0 {
			return value{}, false
		}
		st := &sr.Stats
		switch rest[i+1:] {
		case "final":
			return num(st.Last.Value)
		case "initial":
			return num(st.First.Value)
		case "count":
			return num(float64(st.Count))
		case "mean":
			return num(st.Mean())
		case "min", "max", "best":
			if !st.HasExtremes() {
				return value{}, false
			}
			stat := rest[i+1:]
			if stat == "best" {
				switch series.BestGoal(rest[:i], sr.Goal) {
				case runfmt.GoalMinimize:
					stat = "min"
				case runfmt.GoalMaximize:
					stat = "max"
				default:
					return value{}, false
				}
			}
			if stat == "min" {
				return num(st.Min.Value)
			}
			return num(st.Max.Value)
		}
	}
	return value{}, false
}

// listRuns lists and searches runs (GET /api/v1/runs).
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	status := p.Get("status")
	if status != "" {
		if err := runfmt.CheckStatus(status); err != nil {
			return badRequest("%v", err)
		}
	}
	q, err := parseQuery(p.Get("q"))
	if err != nil {
		return err
	}
	sortBy := p.Get("sort")
	if sortBy == "" {
		sortBy = "start_time"
	}
	if err := checkField(sortBy); err != nil {
		return err
	}
	desc := true
	switch p.Get("order") {
	case "", "desc":
	case "asc":
		desc = false
	default:
		return badRequest("order %q: use asc or desc", p.Get("order"))
	}
	limit, err := intParam(p.Get("limit"), 100, 0, 10000)
	if err != nil {
		return badRequest("limit: %v", err)
	}
	offset, err := intParam(p.Get("offset"), 0, 0, 1<<31)
	if err != nil {
		return badRequest("offset: %v", err)
	}

	idsOnly := false
	switch p.Get("ids_only") {
	case "", "0", "false":
	case "1", "true":
		idsOnly = true
	default:
		return badRequest("ids_only %q: use 1 or 0", p.Get("ids_only"))
	}
	group := p.Get("group")

	f := store.Filter{Project: p.Get("project"), Tag: p.Get("tag"), Name: p.Get("name"), Status: status}
	switch p.Get("archived") { // archived runs are left out unless asked for
	case "", "false":
		f.Archived = store.NotArchived
	case "true":
		f.Archived = store.OnlyArchived
	case "all":
		f.Archived = store.AnyArchived
	default:
		return badRequest("archived %q: use false (the default), true or all", p.Get("archived"))
	}
	if status == runfmt.StatusCrashed {
		f.Status = runfmt.StatusRunning // crashed runs are stored as running
	}
	if c, ok := pushdown(q); ok {
		f.Where = &c // the store leaves out runs the query would
	}
	runs, err := s.db.Runs(ctx, f)
	if err != nil {
		return err
	}
	projects, err := s.projectCounts(ctx, f, runs)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	listed := make([]*listedRun, 0, len(runs))
	for i := range runs {
		st := summary.Status(&runs[i], now)
		if (status == "" || st == status) && (group == "" || runs[i].Group == group) {
			listed = append(listed, &listedRun{run: runs[i], status: st})
		}
	}
	if err := s.attachExtras(ctx, listed); err != nil {
		return err
	}
	var findErr error
	find := func(runID, key string) (store.Series, bool) {
		ser, _, err := s.db.FindSeries(ctx, runID, store.SeriesQuery{Keys: []string{key}})
		if err != nil {
			findErr = err
		}
		if len(ser) == 0 {
			return store.Series{}, false
		}
		return ser[0], true
	}
	for _, l := range listed {
		l.find = find
	}
	kept := listed[:0]
	for _, l := range listed {
		if q.match(l) {
			kept = append(kept, l)
		}
	}
	sortRuns(kept, sortBy, desc)
	if findErr != nil {
		return findErr
	}

	out := struct {
		Runs        []summary.Row  `json:"runs"`
		IDs         []string       `json:"ids,omitempty"`
		Total       int            `json:"total"`
		ConfigKeys  []string       `json:"config_keys"`
		SummaryKeys []string       `json:"summary_keys"`
		Projects    []projectCount `json:"projects"`
	}{Runs: []summary.Row{}, Total: len(kept), Projects: projects}
	if idsOnly {
		// Every match, in order, for selecting all of them: no rows, no keys.
		out.IDs = make([]string, len(kept))
		for i, l := range kept {
			out.IDs[i] = l.run.ID
		}
		out.ConfigKeys, out.SummaryKeys = []string{}, []string{}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	cfgKeys, sumKeys := map[string]bool{}, map[string]bool{}
	for _, l := range kept {
		for k := range l.ex.config {
			cfgKeys[k] = true
		}
		for k := range l.ex.summary {
			sumKeys[k] = true
		}
		for k, sr := range l.ex.series {
			if sr.Stats.Count > 0 {
				sumKeys[k] = true
			}
		}
	}
	out.ConfigKeys, out.SummaryKeys = sortedKeys(cfgKeys), sortedKeys(sumKeys)
	page := kept[min(offset, len(kept)):]
	page = page[:min(limit, len(page))]
	for _, l := range page {
		out.Runs = append(out.Runs, l.row(now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// projectCount is a project of the runs list and how many runs it holds.
type projectCount struct {
	Name string `json:"name"`
	Runs int    `json:"runs"`
}

// projectCounts counts the runs of each project that f's archived choice
// keeps, whatever else f or the query asks: the project picker lists every
// project, not only those of the runs shown. runs are f's runs, counted as
// they are when f filters on nothing else (nor on config values).
func (s *Server) projectCounts(ctx context.Context, f store.Filter, runs []store.Run) ([]projectCount, error) {
	if f.Project != "" || f.Tag != "" || f.Name != "" || f.Status != "" || f.Where != nil {
		var err error
		if runs, err = s.db.Runs(ctx, store.Filter{Archived: f.Archived, Brief: true}); err != nil {
			return nil, err
		}
	}
	n := map[string]int{}
	for i := range runs {
		n[runs[i].Project]++
	}
	out := make([]projectCount, 0, len(n))
	for name, c := range n {
		out = append(out, projectCount{name, c})
	}
	slices.SortFunc(out, func(a, b projectCount) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// row returns the run as the list gives it, listed at time now.
func (l *listedRun) row(now time.Time) summary.Row {
	run := l.run
	run.Summary = l.ex.rawSummary // Runs leaves it out
	row := summary.NewRow(&run, l.ex.list, now)
	row.MoreMetrics = l.ex.more
	return row
}

// sortRuns orders runs by a field; runs without it come last either way,
// and ties keep the newest first.
func sortRuns(runs []*listedRun, by string, desc bool) {
	type keyed struct {
		v  value
		ok bool
	}
	keys := make(map[*listedRun]keyed, len(runs))
	for _, l := range runs {
		v, ok := l.field(by)
		keys[l] = keyed{v, ok}
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := keys[runs[i]], keys[runs[j]]
		if a.ok != b.ok {
			return a.ok
		}
		if a.ok {
			if c := compare(a.v, b.v); c != 0 {
				return (c < 0) != desc
			}
		}
		return runs[i].run.Start > runs[j].run.Start
	})
}

// getRun answers one run (GET /api/v1/runs/{id}): the document of
// `runlog show --json` — summary.json, the path, config, artifacts and
// events — with the run's series and process segments.
//
// The series come a page at a time, so that a run that logged a million
// keys answers as quickly and in as little memory as any other:
// series_limit of them (default 1,000, at most maxDetailSeries) in key
// order, after the key series_after, containing series_q; series_more
// says whether more follow. The summary's statistics cover the page's
// series and the run's loss series. Concurrent requests for the same page
// of an unchanged run share one reading and one encoding, which is kept
// (answerCache) until the run changes.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	limit, err := intParam(p.Get("series_limit"), store.DefaultSeriesLimit, 1, maxDetailSeries)
	if err != nil {
		return badRequest("series_limit: %v", err)
	}
	q := store.SeriesQuery{Contains: p.Get("series_q"), After: p.Get("series_after"), Limit: limit}
	run, err := s.resolve(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeDetail(w, r, run, q)
}

// writeDetail answers the run detail of run: the page q of its series.
func (s *Server) writeDetail(w http.ResponseWriter, r *http.Request, run store.Run, q store.SeriesQuery) error {
	ctx := r.Context()
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s", run.ID, s.gens.of(run.ID), q.Limit, q.Contains, q.After)
	if body, ok := s.detailBodies.get(key); ok {
		writeRawJSON(w, http.StatusOK, body)
		return nil
	}
	body, err, _ := s.details.Do(key, func() (any, error) {
		doc, err := s.runDetail(context.WithoutCancel(ctx), run, q)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(doc)
		if err == nil {
			s.detailBodies.put(key, body)
		}
		return body, err
	})
	if err != nil {
		return err
	}
	writeRawJSON(w, http.StatusOK, body.([]byte))
	return nil
}

// maxDetailSeries is the most series one run detail lists.
const maxDetailSeries = 10000

type seriesInfo struct {
	Key       string `json:"key"`
	Count     int64  `json:"count"`
	FirstStep int64  `json:"first_step"`
	LastStep  int64  `json:"last_step"`
}

type segmentJSON struct {
	Start float64 `json:"start"`
	Last  float64 `json:"last"`
}

type runDetail struct {
	summary.Summary
	Path string `json:"path"`
	// Archived says that the run is hidden from the default listings.
	Archived bool            `json:"archived"`
	Config   json.RawMessage `json:"config"`
	Series   []seriesInfo    `json:"series"`
	// SeriesMore says that more series follow the page: ask again with
	// series_after set to the last key.
	SeriesMore bool           `json:"series_more"`
	Artifacts  []artifactJSON `json:"artifacts"`
	Events     []eventJSON    `json:"events"`
	Segments   []segmentJSON  `json:"segments"`
}

type eventJSON struct {
	runfmt.Event
	Data map[string]any `json:"data,omitempty"`
}

func (s *Server) runDetail(ctx context.Context, run store.Run, q store.SeriesQuery) (*runDetail, error) {
	page, more, err := s.db.FindSeries(ctx, run.ID, q)
	if err != nil {
		return nil, err
	}
	ser := page
	if more || q.After != "" || q.Contains != "" {
		// The summary judges the run by its losses, wherever they sort.
		loss, _, err := s.db.FindSeries(ctx, run.ID, store.SeriesQuery{Keys: append(slices.Clone(series.TrainLossKeys), series.ValLossKeys...)})
		if err != nil {
			return nil, err
		}
		ser = slices.Clone(page)
		for _, l := range loss {
			if !slices.ContainsFunc(page, func(p store.Series) bool { return p.Key == l.Key }) {
				ser = append(ser, l)
			}
		}
	}
	arts, err := s.db.Artifacts(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	evs, err := summary.Events(ctx, s.db, run.ID)
	if err != nil {
		return nil, err
	}
	segs, err := s.db.Segments(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	sum := summary.Build(run, ser, arts, evs, s.opts.Now())
	d := &runDetail{Summary: sum, Path: run.Path, Archived: run.Archived, Config: run.Config, Series: []seriesInfo{},
		Artifacts: artifactsJSON(arts), Events: []eventJSON{}, Segments: []segmentJSON{}}
	if len(d.Config) == 0 {
		d.Config = json.RawMessage("{}")
	}
	d.SeriesMore = more
	for _, sr := range page {
		if sr.Stats.Count == 0 {
			continue
		}
		first, last := sr.Stats.First.Step, sr.Stats.Last.Step
		d.Series = append(d.Series, seriesInfo{Key: sr.Key, Count: sr.Stats.Count, FirstStep: first, LastStep: last})
	}
	for _, ev := range evs {
		data, _ := runfmt.Finite(ev.Data).(map[string]any)
		d.Events = append(d.Events, eventJSON{ev.Event, data})
	}
	for _, sg := range segs {
		d.Segments = append(d.Segments, segmentJSON{sg.Start, sg.Last})
	}
	return d, nil
}

// resolve finds the run ref names: an id, a unique id prefix or a name. A
// name that several runs share means the newest of them, as on the
// command line.
func (s *Server) resolve(ctx context.Context, ref string) (store.Run, error) {
	id, err := s.db.Resolve(ctx, ref)
	var amb *store.AmbiguousError
	if errors.As(err, &amb) && amb.ByName {
		id, err = amb.IDs[0], nil
	}
	if errors.Is(err, store.ErrNotFound) {
		if near := store.Closest(ctx, s.db, ref); len(near) > 0 {
			return store.Run{}, fmt.Errorf("%w; did you mean: %s?", err, strings.Join(near, ", "))
		}
	}
	if err != nil {
		return store.Run{}, err
	}
	return s.db.Run(ctx, id)
}

// resolveAll resolves every ref, keeping the first of runs named twice,
// in the order named.
func (s *Server) resolveAll(ctx context.Context, refs []string) ([]store.Run, error) {
	var runs []store.Run
	seen := map[string]bool{}
	for _, ref := range refs {
		run, err := s.resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !seen[run.ID] {
			seen[run.ID] = true
			runs = append(runs, run)
		}
	}
	return runs, nil
}

// intParam reads an integer query parameter between lo and hi.
func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	if n < lo || n > hi {
		return 0, errors.New("out of range " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
	}
	return n, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
