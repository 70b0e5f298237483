package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/runlog/runlog/internal/analyze"
)

// maxCompareRuns bounds the runs of one comparison.
const maxCompareRuns = 100

// compare answers `runlog compare --json` for the runs named
// (GET /api/v1/compare?runs=a,b&target=val_loss=2&at_time=30m&at_step=400
// &smooth=0.9&key=train_loss). The first run is the baseline.
func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	refs := splitList(p["runs"])
	if len(refs) == 0 {
		return badRequest("runs: name the runs to compare, the baseline first: ?runs=a,b")
	}
	if len(refs) > maxCompareRuns {
		return badRequest("runs: at most %d runs at once", maxCompareRuns)
	}
	opt := analyze.Options{Alpha: analyze.DefaultAlpha, Now: s.opts.Now(), Keys: p["key"]}
	if v := p.Get("smooth"); v != "" {
		a, err := strconv.ParseFloat(v, 64)
		if err != nil || a < 0 || a >= 1 {
			return badRequest("smooth %q: α must be at least 0 and less than 1", v)
		}
		opt.Alpha = a
	}
	for _, v := range p["target"] {
		t, err := analyze.ParseTarget(v)
		if err != nil {
			return err
		}
		opt.Targets = append(opt.Targets, t)
	}
	for _, v := range p["at_time"] {
		sec, err := analyze.ParseDuration(v)
		if err != nil {
			return badRequest("at_time: %v", err)
		}
		opt.AtTimes = append(opt.AtTimes, sec)
	}
	for _, v := range p["at_step"] {
		step, err := strconv.ParseInt(v, 10, 64)
		if err != nil || step < 0 {
			return badRequest("at_step %q: give a step, 0 or more", v)
		}
		opt.AtSteps = append(opt.AtSteps, step)
	}
	runs, err := s.resolveAll(ctx, refs)
	if err != nil {
		return err
	}
	c, err := analyze.Compare(ctx, s.db, runs, opt)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := c.JSON(&b); err != nil {
		return err
	}
	// analyze writes indented JSON with <, > and & as they are: compact
	// it, and escape them as every other answer does, so that no run name
	// can pass for markup.
	var compact, esc bytes.Buffer
	if err := json.Compact(&compact, b.Bytes()); err != nil {
		return err
	}
	json.HTMLEscape(&esc, compact.Bytes())
	writeRawJSON(w, http.StatusOK, esc.Bytes())
	return nil
}
