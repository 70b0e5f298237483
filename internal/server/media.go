package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// The rich values of runs: texts, images, tables, HTML and histograms
// (docs/run-log-format.md, "Rich values"). Everything is answered as data:
// texts are JSON strings (writeJSON escapes <, > and &), and the files of
// images, tables and HTML are fetched through getFile, which runfs serves
// under CSP sandbox, HTML as an attachment.

// Bounds of the media answers.
const (
	maxLastText       = 1000 // bytes of a key's last text in the key list
	maxMediaLimit     = 1000 // entries of one page
	defaultHistSteps  = 200
	maxHistSteps      = 2000
	maxTextRuns       = 100
	maxTextAnswerText = 8 << 20 // bytes of text in one /api/v1/text answer
)

type mediaKeyJSON struct {
	Key         string `json:"key"`
	Kind        string `json:"kind"`
	Count       int64  `json:"count"`
	FirstStep   int64  `json:"first_step"`
	LastStep    int64  `json:"last_step"`
	LastText    string `json:"last_text,omitempty"`
	LastTextCut bool   `json:"last_text_cut,omitempty"`
}

// listMedia answers the keys of a run's rich values
// (GET /api/v1/runs/{id}/media).
func (s *Server) listMedia(w http.ResponseWriter, r *http.Request) error {
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	keys, err := s.db.MediaKeys(r.Context(), run.ID)
	if err != nil {
		return err
	}
	out := make([]mediaKeyJSON, 0, len(keys))
	for _, k := range keys {
		text, cut := cutText(k.LastText, maxLastText)
		out = append(out, mediaKeyJSON{k.Key, k.Kind, k.Count, k.FirstStep, k.LastStep, text, cut})
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []mediaKeyJSON `json:"keys"`
	}{out})
	return nil
}

// cutText returns s cut to at most n bytes at a character boundary, and
// whether it was cut.
func cutText(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// mediaEntryJSON is an entry as the API shows it (MediaEntry in the
// OpenAPI file): the media record's fields, a text's value, and the URL
// of its file.
type mediaEntryJSON struct {
	runfmt.Media
	Text *string `json:"text,omitempty"`
	URL  string  `json:"url,omitempty"`
}

func mediaEntry(runID string, e store.MediaEntry) mediaEntryJSON {
	j := mediaEntryJSON{Media: e.Media}
	if e.Kind == runfmt.MediaText {
		text := e.Text
		j.Text = &text
	}
	if e.Path != "" {
		j.URL = fileURL(runID, e.Path)
	}
	return j
}

// fileURL is the getFile URL of a file of a run folder.
func fileURL(runID, path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/api/v1/runs/" + url.PathEscape(runID) + "/files/" + strings.Join(parts, "/")
}

// stepParam reads an optional step query parameter.
func stepParam(p url.Values, name string) (*int64, error) {
	v := p.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badRequest("%s %q: give a step, an integer", name, v)
	}
	return &n, nil
}

// mediaEntries answers the values of one key of a run, at a step or page
// by page (GET /api/v1/runs/{id}/media/entries?key=K&step=N or
// &from=F&limit=L). The key is a query parameter: keys hold "/" and ".."
// that a path would change.
func (s *Server) mediaEntries(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Query()
	key := p.Get("key")
	if key == "" {
		return badRequest("key: name the key: ?key=samples")
	}
	at, err := stepParam(p, "step")
	if err != nil {
		return err
	}
	from, err := stepParam(p, "from")
	if err != nil {
		return err
	}
	limit, err := intParam(p.Get("limit"), store.DefaultMediaLimit, 1, maxMediaLimit)
	if err != nil {
		return badRequest("limit: %v", err)
	}
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	q := store.MediaQuery{AtOrBefore: at, Limit: limit}
	if from != nil {
		q.From = *from
	} else {
		q.From = minStep
	}
	found, more, err := s.db.Media(r.Context(), run.ID, key, q)
	if err != nil {
		return err
	}
	ans := struct {
		Key      string           `json:"key"`
		Step     *int64           `json:"step,omitempty"`
		Entries  []mediaEntryJSON `json:"entries"`
		NextFrom *int64           `json:"next_from,omitempty"`
	}{Key: key, Entries: make([]mediaEntryJSON, 0, len(found))}
	for _, e := range found {
		ans.Entries = append(ans.Entries, mediaEntry(run.ID, e))
	}
	if at != nil {
		// The step found, or null: a pointer to a field that stays nil
		// would be left out, so the answer is written by hand below.
		var step *int64
		if len(found) > 0 {
			step = &found[0].Step
		}
		writeJSON(w, http.StatusOK, struct {
			Key     string           `json:"key"`
			Step    *int64           `json:"step"`
			Entries []mediaEntryJSON `json:"entries"`
		}{key, step, ans.Entries})
		return nil
	}
	if more && len(found) > 0 {
		next := found[len(found)-1].Step + 1
		ans.NextFrom = &next
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// minStep is the smallest step, the start of a key's first page.
const minStep = -1 << 63

type histogramJSON struct {
	Step   int64     `json:"step"`
	Time   float64   `json:"time"`
	Edges  []float64 `json:"edges"`
	Counts []float64 `json:"counts"`
	NaN    int64     `json:"nan"`
	Inf    int64     `json:"inf"`
	NInf   int64     `json:"ninf"`
}

// histograms answers a histogram key over the steps, at most `steps` of
// them (GET /api/v1/runs/{id}/histograms?key=K&steps=200).
func (s *Server) histograms(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Query()
	key := p.Get("key")
	if key == "" {
		return badRequest("key: name the histogram key: ?key=grad_norm/layer0")
	}
	steps, err := intParam(p.Get("steps"), defaultHistSteps, 2, maxHistSteps)
	if err != nil {
		return badRequest("steps: %v", err)
	}
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	found, total, err := s.db.Histograms(r.Context(), run.ID, key, steps)
	if err != nil {
		return err
	}
	out := make([]histogramJSON, 0, len(found))
	for _, h := range found {
		out = append(out, histogramJSON{h.Step, h.Time, h.Edges, h.Counts, h.NaN, h.Inf, h.NInf})
	}
	writeJSON(w, http.StatusOK, struct {
		Key        string          `json:"key"`
		Total      int             `json:"total"`
		Histograms []histogramJSON `json:"histograms"`
	}{key, total, out})
	return nil
}

type textRunJSON struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Step   *int64     `json:"step"`
	Time   float64    `json:"time,omitempty"`
	Text   string     `json:"text"`
	Metric *pointJSON `json:"metric,omitempty"`
}

type pointJSON struct {
	Step  int64        `json:"step"`
	Value runfmt.Float `json:"value"`
}

// texts answers the text samples of several runs side by side at one step,
// each beside the run's value of a metric there
// (GET /api/v1/text?runs=a,b&key=sample&step=800&metric=val_loss).
func (s *Server) texts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	refs := splitList(p["runs"])
	if len(refs) == 0 {
		return badRequest("runs: name the runs, comma-separated: ?runs=a,b&key=sample")
	}
	if len(refs) > maxTextRuns {
		return badRequest("runs: at most %d runs at once", maxTextRuns)
	}
	key := p.Get("key")
	if key == "" {
		return badRequest("key: name the text key: ?key=sample")
	}
	at, err := stepParam(p, "step")
	if err != nil {
		return err
	}
	metric := p.Get("metric")
	runs, err := s.resolveAll(ctx, refs)
	if err != nil {
		return err
	}
	out := make([]textRunJSON, 0, len(runs))
	budget := maxTextAnswerText
	for _, run := range runs {
		tr := textRunJSON{ID: run.ID, Name: run.Name}
		e, ok, err := s.lastText(ctx, run.ID, key, at)
		if err != nil {
			return err
		}
		if ok {
			step := e.Step
			tr.Step, tr.Time = &step, e.Time
			tr.Text, _ = cutText(e.Text, max(budget, 0))
			budget -= len(tr.Text)
		}
		if metric != "" && (ok || at != nil) {
			upTo := e.Step
			if !ok {
				upTo = *at
			}
			tr.Metric, err = s.valueAt(ctx, run, metric, upTo)
			if err != nil {
				return err
			}
		}
		out = append(out, tr)
	}
	writeJSON(w, http.StatusOK, struct {
		Key    string        `json:"key"`
		Step   *int64        `json:"step"`
		Metric string        `json:"metric,omitempty"`
		Runs   []textRunJSON `json:"runs"`
	}{key, at, metric, out})
	return nil
}

// lastText returns the text of key that a run logged last at the greatest
// step at or before at (any step when at is nil).
func (s *Server) lastText(ctx context.Context, runID, key string, at *int64) (store.MediaEntry, bool, error) {
	q := store.MediaQuery{AtOrBefore: at, Kind: runfmt.MediaText}
	if at == nil {
		last := int64(math.MaxInt64)
		q.AtOrBefore = &last
	}
	found, _, err := s.db.Media(ctx, runID, key, q)
	if err != nil || len(found) == 0 {
		return store.MediaEntry{}, false, err
	}
	return found[len(found)-1], true, nil
}

// valueAt returns the run's value of series key at the greatest step at
// or before step (of equal steps, the one logged last), or nil if it has
// none.
func (s *Server) valueAt(ctx context.Context, run store.Run, key string, step int64) (*pointJSON, error) {
	e, err := s.series.get(ctx, s.db, run, key, s.gens.of(run.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	steps := e.pts.Steps
	i := sort.Search(len(steps), func(i int) bool { return steps[i] > step }) - 1
	if i < 0 {
		return nil, nil
	}
	return &pointJSON{steps[i], runfmt.Float(e.pts.Values[i])}, nil
}
