package server

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// runExtras is what the runs list needs of a run beyond the store's
// listing: the values it set in its summary, the statistics of its series
// and its config by dotted path. Reading them takes two queries a run, so
// they are cached until the run changes.
type runExtras struct {
	gen        uint64
	rawSummary json.RawMessage
	summary    map[string]any
	series     map[string]store.Series // summary.RowSeries: not all if more
	list       []store.Series          // the same series, for summary.NewRow
	more       bool                    // the run has more series than these
	config     map[string]string       // leaves of the config, as compact JSON
}

type extrasCache struct {
	mu sync.Mutex
	m  map[string]*runExtras
}

func newExtrasCache() *extrasCache { return &extrasCache{m: map[string]*runExtras{}} }

// extrasWorkers is how many runs' extras are read at once: the store's
// pool of readers.
const extrasWorkers = 4

// attachExtras fills in the extras of every listed run, reading those
// that are not cached or changed since.
func (s *Server) attachExtras(ctx context.Context, runs []*listedRun) error {
	var todo []*listedRun
	s.extras.mu.Lock()
	seen := make(map[string]bool, len(runs))
	for _, l := range runs {
		seen[l.run.ID] = true
		if ex, ok := s.extras.m[l.run.ID]; ok && ex.gen == s.gens.of(l.run.ID) {
			l.ex = ex
		} else {
			todo = append(todo, l)
		}
	}
	if len(todo) == 0 && len(s.extras.m) > 2*len(runs)+1000 { // forget runs long gone
		for id := range s.extras.m {
			if !seen[id] {
				delete(s.extras.m, id)
			}
		}
	}
	s.extras.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	errs := make(chan error, extrasWorkers)
	var wg sync.WaitGroup
	for w := range extrasWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(todo); i += extrasWorkers {
				ex, err := s.loadExtras(ctx, todo[i].run.ID)
				if err != nil {
					errs <- err
					return
				}
				todo[i].ex = ex
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	s.extras.mu.Lock()
	for _, l := range todo {
		s.extras.m[l.run.ID] = l.ex
	}
	s.extras.mu.Unlock()
	return nil
}

func (s *Server) loadExtras(ctx context.Context, id string) (*runExtras, error) {
	gen := s.gens.of(id) // before reading: a change while reading makes the entry stale, not wrong
	run, err := s.db.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	ser, more, err := summary.RowSeries(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	ex := &runExtras{gen: gen, rawSummary: run.Summary, summary: map[string]any{}, series: make(map[string]store.Series, len(ser)), list: ser, more: more}
	if len(ex.rawSummary) == 0 {
		ex.rawSummary = json.RawMessage("{}")
	}
	if json.Unmarshal(run.Summary, &ex.summary) == nil {
		runfmt.NumberValue(ex.summary)
	}
	for _, sr := range ser {
		ex.series[sr.Key] = sr
	}
	if ex.config, err = analyze.Flatten(run.Config); err != nil {
		ex.config = map[string]string{}
	}
	delete(ex.config, "") // an empty config is a leaf of no name
	return ex, nil
}
