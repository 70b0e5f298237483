package server

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/store"
)

// indexLoop indexes the home every IndexInterval until ctx ends.
func (s *Server) indexLoop(ctx context.Context, w *warnings) {
	defer close(s.done)
	if s.db.ReadOnly() {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(s.opts.IndexInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.index(ctx, w); err != nil && ctx.Err() == nil {
			w.warn(err)
		}
	}
}

// index brings the store up to date with the run folders and tells event
// subscribers and caches which runs changed. A run changed when this
// indexing applied records to it, or when its cursors moved since the last
// indexing — another runlog process (a command run beside the server)
// indexed it — or when it disappeared.
//
// When indexing stops on an error (a full disk, say), the runs indexed
// before it are still announced, and the error is kept for
// /api/v1/health and for the 404 of a run that it kept out of the store,
// until an indexing succeeds. A read-only store is not an error here: the
// server serves what was indexed before, but the runs it could not index
// are explained the same way.
func (s *Server) index(ctx context.Context, w *warnings) ([]string, error) {
	s.indexing.Lock()
	defer s.indexing.Unlock()
	return s.indexLocked(ctx, w)
}

// indexLocked is index, for a caller that holds s.indexing.
func (s *Server) indexLocked(ctx context.Context, w *warnings) ([]string, error) {
	res, ierr := ingest.Home(ctx, s.indexStore, s.home, ingest.Options{Warn: w.warn})
	if ierr != nil && ctx.Err() != nil {
		return nil, ierr
	}
	curs, err := s.db.Cursors(ctx)
	if err != nil {
		return nil, err
	}
	changed := s.gens.update(curs, res.Changed)
	s.mu.Lock()
	s.runs = len(curs)
	if ierr == nil || res.Runs > 0 {
		s.onDisk = res.Runs // else the folders were not counted
	}
	s.indexErr = ierr
	s.mu.Unlock()
	if len(changed) > 0 {
		s.series.refresh(ctx, s.db, changed, s.gens.of)
		s.hub.publish(changed)
	}
	if errors.Is(ierr, store.ErrReadOnly) {
		ierr = nil
	}
	return changed, ierr
}

// generations count the changes of every run, so that caches can tell
// whether what they hold is current: an entry made at generation g is
// good while the run is still at g.
type generations struct {
	mu    sync.RWMutex
	gen   map[string]uint64
	marks map[string]int64 // a fingerprint of each run's cursors
}

// update bumps the generation of runs whose cursors moved, that appeared
// or disappeared, or that indexed names, and returns them sorted.
func (g *generations) update(curs map[string]map[string]store.Cursor, indexed []string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gen == nil {
		g.gen, g.marks = map[string]uint64{}, map[string]int64{}
	}
	set := map[string]bool{}
	for _, id := range indexed {
		set[id] = true
	}
	marks := make(map[string]int64, len(curs))
	for id, streams := range curs {
		var m int64
		for _, c := range streams {
			m += c.Offset + int64(c.Seq)
		}
		marks[id] = m
		if old, ok := g.marks[id]; !ok || old != m {
			set[id] = true
		}
	}
	for id := range g.marks {
		if _, ok := marks[id]; !ok {
			set[id] = true
		}
	}
	g.marks = marks
	out := make([]string, 0, len(set))
	for id := range set {
		g.gen[id]++
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// bump bumps the generation of run id, which another replica of a team
// server indexed, and returns it as update does.
func (g *generations) bump(id string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gen == nil {
		g.gen, g.marks = map[string]uint64{}, map[string]int64{}
	}
	g.gen[id]++
	return []string{id}
}

// of returns the generation of run id.
func (g *generations) of(id string) uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.gen[id]
}

// warnings passes indexing warnings on to the log once each: the same torn
// tail is found again every second until its writer finishes the record.
type warnings struct {
	logf func(string, ...any)
	mu   sync.Mutex
	seen map[string]bool
}

func newWarnings(logf func(string, ...any)) *warnings {
	return &warnings{logf: logf, seen: map[string]bool{}}
}

func (w *warnings) warn(err error) {
	msg := err.Error()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[msg] {
		return
	}
	if len(w.seen) > 10000 {
		clear(w.seen)
	}
	w.seen[msg] = true
	w.logf("runlog: warning: %s", msg)
}
