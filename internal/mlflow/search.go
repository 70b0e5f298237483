package mlflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/store"
)

// Limits of runs/search, as in MLflow.
const (
	defaultMaxResults = 1000
	maxSearchResults  = 50000
)

// pageToken is the position a search continues from, opaque to clients.
type pageToken struct {
	Offset int `json:"offset"`
}

func encodeToken(offset int) string {
	b, _ := json.Marshal(pageToken{offset})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	var t pageToken
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil || t.Offset < 0 {
		return 0, invalidf("Invalid page token '%s'", s)
	}
	return t.Offset, nil
}

// page returns the bounds of one page of n results and the token of the
// next page, "" if this is the last.
func page(n int, token string, maxResults jsonInt, limit int) (int, int, string, error) {
	size := defaultMaxResults
	if maxResults.set {
		size = int(maxResults.v)
	}
	if size <= 0 || size > limit {
		return 0, 0, "", invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", size, limit)
	}
	start, err := decodeToken(token)
	if err != nil {
		return 0, 0, "", err
	}
	start = min(start, n)
	end := min(start+size, n)
	next := ""
	if end < n {
		next = encodeToken(end)
	}
	return start, end, next, nil
}

// candidate is a run that a search considers, with what it is compared on
// read as needed.
type candidate struct {
	run    store.Run
	exp    experiment
	series []store.Series
	loaded bool
	tags   map[string]string
	params map[string]string
}

func (c *candidate) metrics(ctx context.Context, st store.Store) ([]store.Series, error) {
	if !c.loaded {
		ser, err := st.Series(ctx, c.run.ID)
		if err != nil {
			return nil, err
		}
		c.series, c.loaded = ser, true
	}
	return c.series, nil
}

// value returns what id names for the run, as a sort value; for a string
// it also returns the string and whether the run has it.
func (c *candidate) value(ctx context.Context, st store.Store, id ident) (sortValue, error) {
	switch id.entity {
	case entityMetric:
		ser, err := c.metrics(ctx, st)
		if err != nil {
			return sortValue{}, err
		}
		for _, s := range ser {
			if s.Key == id.key && s.Stats.Count > 0 {
				return numberValue(s.Stats.Last.Value), nil
			}
		}
		return sortValue{rank: 2}, nil
	case entityParam:
		if c.params == nil {
			c.params = flatConfig(c.run.Config)
		}
		if v, ok := c.params[id.key]; ok {
			return sortValue{str: v}, nil
		}
		return sortValue{rank: 2}, nil
	case entityTag:
		if c.tags == nil {
			c.tags = map[string]string{}
			for _, t := range runTags(&c.run) {
				c.tags[t.Key] = t.Value
			}
		}
		if v, ok := c.tags[id.key]; ok {
			return sortValue{str: v}, nil
		}
		return sortValue{rank: 2}, nil
	}
	r := &c.run
	switch id.key {
	case "run_id":
		return sortValue{str: r.ID}, nil
	case "run_name":
		return sortValue{str: r.Name}, nil
	case "status":
		return sortValue{str: toMLflowStatus[r.Status]}, nil
	case "user_id":
		return sortValue{str: r.User}, nil
	case "artifact_uri":
		return sortValue{str: artifactURI(c.exp.ID, r.ID)}, nil
	case "lifecycle_stage":
		return sortValue{str: lifecycle(r, c.exp)}, nil
	case "experiment_id":
		return sortValue{str: c.exp.ID}, nil
	case "start_time":
		return sortValue{num: float64(ms(r.Start))}, nil
	case "end_time":
		if r.End == 0 {
			return sortValue{rank: 2}, nil
		}
		return sortValue{num: float64(ms(r.End))}, nil
	}
	return sortValue{rank: 2}, nil
}

// match reports whether the run satisfies every clause.
func (c *candidate) match(ctx context.Context, st store.Store, clauses []clause) (bool, error) {
	for i := range clauses {
		cl := &clauses[i]
		v, err := c.value(ctx, st, cl.ident)
		if err != nil {
			return false, err
		}
		switch cl.op {
		case "IS NULL":
			if v.rank != 2 {
				return false, nil
			}
			continue
		case "IS NOT NULL":
			if v.rank == 2 {
				return false, nil
			}
			continue
		}
		if v.rank == 2 {
			return false, nil
		}
		var ok bool
		if cl.numeric() {
			ok = v.rank == 0 && cl.matchNumber(v.num)
			if v.rank == 1 {
				ok = cl.op == "!="
			}
		} else {
			ok = cl.matchString(v.str)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (h *handler) searchRuns(r *http.Request) (any, error) {
	var q struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		ViewType      enum     `json:"run_view_type"`
		MaxResults    jsonInt  `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
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
	view := q.ViewType.name(viewTypeNames)
	if view == "" {
		view = "ACTIVE_ONLY"
	}
	ctx := r.Context()
	var cands []*candidate
	for _, id := range q.ExperimentIDs {
		exp, ok, err := h.exps.byID(ctx, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		list, err := h.st.Runs(ctx, store.Filter{Project: exp.Project, Brief: true})
		if err != nil {
			return nil, err
		}
		for _, b := range list {
			run, err := h.st.Run(ctx, b.ID)
			if err != nil {
				return nil, err
			}
			switch stage := lifecycle(&run, exp); {
			case view == "ACTIVE_ONLY" && stage != stageActive, view == "DELETED_ONLY" && stage != stageDeleted:
				continue
			}
			c := &candidate{run: run, exp: exp}
			ok, err := c.match(ctx, h.st, clauses)
			if err != nil {
				return nil, err
			}
			if ok {
				cands = append(cands, c)
			}
		}
	}
	if err := sortCandidates(ctx, h.st, cands, orders); err != nil {
		return nil, err
	}
	start, end, next, err := page(len(cands), q.PageToken, q.MaxResults, maxSearchResults)
	if err != nil {
		return nil, err
	}
	out := struct {
		Runs []runOut `json:"runs"`
		Next string   `json:"next_page_token,omitempty"`
	}{Runs: []runOut{}, Next: next}
	for _, c := range cands[start:end] {
		ser, err := c.metrics(ctx, h.st)
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, makeRun(&c.run, c.exp, ser))
	}
	return out, nil
}

// sortCandidates orders runs by the orderings, then, as MLflow does, by
// start time, newest first, and by id.
func sortCandidates(ctx context.Context, st store.Store, cands []*candidate, orders []order) error {
	orders = append(orders, order{ident{entityAttribute, "start_time"}, true}, order{ident{entityAttribute, "run_id"}, false})
	keys := make(map[*candidate][]sortValue, len(cands))
	for _, c := range cands {
		vs := make([]sortValue, len(orders))
		for i, o := range orders {
			v, err := c.value(ctx, st, o.ident)
			if err != nil {
				return err
			}
			vs[i] = v
		}
		keys[c] = vs
	}
	slices.SortStableFunc(cands, func(a, b *candidate) int {
		ka, kb := keys[a], keys[b]
		for i, o := range orders {
			if c := ka[i].compare(kb[i], o.desc); c != 0 {
				return c
			}
		}
		return 0
	})
	return nil
}
