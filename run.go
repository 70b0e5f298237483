package runlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// Buffer limits. Records are written when the buffer passes flushSize or
// when the flush interval ends; if the disk cannot take them and the buffer
// reaches maxBuffer, new metrics are dropped and counted instead of letting
// memory grow without bound.
const (
	flushSize = 1 << 20
	maxBuffer = 64 << 20
)

// Run is a run being logged. Its methods are safe for concurrent use.
type Run struct {
	id, home, dir string
	opts          Options

	mu sync.Mutex // guards the fields below
	// enc holds the records not yet handed to the writer. It is a value,
	// not a pointer: Log uses it for every value, one load the fewer.
	enc     runfmt.Encoder
	step    int64 // the step Log uses next
	config  map[string]any
	pairs   []pair // scratch for Log
	dropped int64  // metric values dropped because the buffer was full
	done    bool

	w       *writer
	stream  *streamer // nil unless the run streams to a server
	uploads *uploader // nil unless it also uploads its files

	media runfmt.MediaFiles // the media files written (media.go), under their own lock
}

type pair struct {
	id uint32
	v  float64
}

// newRun returns a run that writes f and continues the log enc encodes,
// which it takes over: enc must not be used after.
func newRun(home, dir, id string, f fileWriter, enc *runfmt.Encoder, opts Options) *Run {
	return &Run{id: id, home: home, dir: dir, opts: opts, enc: *enc, w: newWriter(f), media: runfmt.MediaFiles{Dir: dir}}
}

// ID returns the run's id.
func (r *Run) ID() string { return r.id }

// Dir returns the run's folder, <home>/runs/<id>.
func (r *Run) Dir() string { return r.dir }

// Log records values at the next step: one more than the last step logged,
// or 0 for the first. See LogStep.
func (r *Run) Log(values map[string]float64) error {
	return r.log(-1, values)
}

// LogStep records values at a step, with the current wall time. Steps are
// ≥ 0; they may repeat or go back (every point is kept, and readers order
// points by step). The next Log without a step uses step+1. NaN and ±Inf
// are recorded as they are.
//
// LogStep does not wait for the disk; it returns an error only for values
// that cannot be logged (a negative step, an invalid key) or a finished
// run.
func (r *Run) LogStep(step int64, values map[string]float64) error {
	if step < 0 {
		// The run.log format keeps any step (the MLflow API stores MLflow's
		// step -1 as it is), but this client counts from 0, and Log's next
		// step is one more than the last.
		return fmt.Errorf("%w: step %d is negative: runlog's clients count steps from 0", ErrInvalid, step)
	}
	return r.log(step, values)
}

func (r *Run) log(step int64, values map[string]float64) error {
	t := now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return ErrFinished
	}
	if step < 0 {
		step = r.step
	}
	if r.enc.Len() > maxBuffer {
		r.dropped += int64(len(values))
		return nil
	}
	// Key records for new keys go before the metrics record, so the ids
	// are looked up first.
	ps := r.pairs[:0]
	for k, v := range values {
		id, err := r.enc.Key(k)
		if err != nil {
			return err
		}
		ps = append(ps, pair{id, v})
	}
	r.pairs = ps
	r.enc.StartMetrics(step, t)
	for _, p := range ps {
		r.enc.Pair(p.id, p.v)
	}
	r.enc.FinishMetrics()
	r.step = step + 1
	if r.enc.Len() >= flushSize {
		r.w.kick()
	}
	return nil
}

// appendJSON buffers a JSON record. r.mu must not be held.
func (r *Run) appendJSON(t runfmt.Type, v any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.appendJSONLocked(t, v)
}

func (r *Run) appendJSONLocked(t runfmt.Type, v any) error {
	if r.done {
		return ErrFinished
	}
	return r.enc.JSON(t, v)
}

// UpdateConfig sets top-level config keys, replacing their values, and
// records the whole config.
func (r *Run) UpdateConfig(values map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg := cloneMap(r.config)
	if cfg == nil {
		cfg = map[string]any{}
	}
	for k, v := range values {
		cfg[k] = v
	}
	p, err := runfmt.MarshalJSON(cfg)
	if err != nil {
		return fmt.Errorf("%w: config: %v", ErrInvalid, err)
	}
	if len(p) > runfmt.MaxConfigSize {
		return fmt.Errorf("%w: config of %d bytes exceeds %d", ErrInvalid, len(p), runfmt.MaxConfigSize)
	}
	if err := r.appendJSONLocked(runfmt.TypeConfig, json.RawMessage(p)); err != nil {
		return err
	}
	r.config = cfg
	if err := r.writeConfigFile(); err != nil {
		r.w.fail(fmt.Errorf("write config.json: %w", err))
	}
	return nil
}

// Config returns a copy of the run's config.
func (r *Run) Config() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneMap(r.config)
}

// writeConfigFile writes config.json, the run's config for other tools.
func (r *Run) writeConfigFile() error {
	p, err := json.MarshalIndent(r.config, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(r.dir, layout.ConfigFile), append(p, '\n'))
}

// SetSummary sets a summary value of the run. Values set here override the
// statistics runlog computes under the same key; nil removes the override.
func (r *Run) SetSummary(key string, value any) error {
	if err := runfmt.CheckKey(key); err != nil {
		return err
	}
	p, err := runfmt.MarshalJSON(map[string]any{key: value})
	if err != nil {
		return fmt.Errorf("%w: summary %q: %v", ErrInvalid, key, err)
	}
	if len(p) > runfmt.MaxSummarySize {
		return fmt.Errorf("%w: summary %q of %d bytes exceeds %d", ErrInvalid, key, len(p), runfmt.MaxSummarySize)
	}
	return r.appendJSON(runfmt.TypeSummary, json.RawMessage(p))
}

// DefineMetric declares whether lower or higher values of key are better,
// which decides the run's best value and best checkpoint. Keys that look
// like validation metrics (val_loss, val/…, eval/…) are minimized unless
// declared otherwise.
func (r *Run) DefineMetric(key string, goal Goal) error {
	if err := runfmt.CheckKey(key); err != nil {
		return err
	}
	if goal != Minimize && goal != Maximize {
		return fmt.Errorf("%w: goal %q: want %q or %q", ErrInvalid, goal, Minimize, Maximize)
	}
	return r.appendJSON(runfmt.TypeDefine, runfmt.Define{Key: key, Goal: string(goal)})
}

// Rewind records that the run continues from step, typically after loading
// a checkpoint taken there: points with a greater step logged before are
// kept but marked superseded, and the next Log uses step+1.
func (r *Run) Rewind(step int64) error {
	if err := runfmt.CheckStep(step); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.appendJSONLocked(runfmt.TypeRewind, runfmt.Rewind{Time: now(), Step: step}); err != nil {
		return err
	}
	r.step = step + 1
	return nil
}

// Alert records an alert event; level is "info", "warn" or "error".
func (r *Run) Alert(title, text, level string) error {
	switch level {
	case "":
		level = "warn"
	case "info", "warn", "error":
	default:
		return fmt.Errorf("%w: alert level %q: want info, warn or error", ErrInvalid, level)
	}
	if len(title) > runfmt.MaxNameLen || len(text) > runfmt.MaxTextLen {
		return fmt.Errorf("%w: alert title or text too long", ErrInvalid)
	}
	r.mu.Lock()
	step := r.step - 1
	r.mu.Unlock()
	ev := runfmt.Event{Kind: runfmt.EventAlert, Time: now(), Level: level, Title: title, Text: text}
	if step >= 0 {
		ev.Step = &step
	}
	return r.appendJSON(runfmt.TypeEvent, ev)
}

// Note records a note event: something worth knowing about the run that
// is not an alert, such as a checkpoint deleted to save space.
func (r *Run) Note(title, text string) error {
	if len(title) > runfmt.MaxNameLen || len(text) > runfmt.MaxTextLen {
		return fmt.Errorf("%w: note title or text too long", ErrInvalid)
	}
	return r.appendJSON(runfmt.TypeEvent, runfmt.Event{Kind: runfmt.EventNote, Time: now(), Title: title, Text: text})
}

// Finish records the run's end — finished for exit code 0; killed for the
// exit codes of a process stopped by SIGHUP, SIGINT, SIGKILL or SIGTERM
// (129, 130, 137, 143); failed otherwise — writes everything buffered to
// disk and syncs it. It returns an error if records could not be written,
// saying how many values were dropped. Calls after the first return
// ErrFinished.
func (r *Run) Finish(exitCode int) error {
	status := runfmt.StatusFailed
	switch exitCode {
	case 0:
		status = runfmt.StatusFinished
	case 129, 130, 137, 143:
		status = runfmt.StatusKilled
	}
	return r.end(runfmt.Status{Status: status, Time: now(), ExitCode: &exitCode})
}

// FinishStatus records the run's end with an explicit status (finished,
// failed, killed, stopped), exit code and error text — a traceback, or why
// a supervisor stopped the run — and then finishes as Finish does.
func (r *Run) FinishStatus(status string, exitCode int, errText string) error {
	switch status {
	case runfmt.StatusFinished, runfmt.StatusFailed, runfmt.StatusKilled, runfmt.StatusStopped:
	default:
		return fmt.Errorf("%w: final status %q: want finished, failed, killed or stopped", ErrInvalid, status)
	}
	if len(errText) > runfmt.MaxTextLen {
		errText = errText[len(errText)-runfmt.MaxTextLen:] // the end of a traceback says most
	}
	return r.end(runfmt.Status{Status: status, Time: now(), ExitCode: &exitCode, Error: errText})
}

func (r *Run) end(st runfmt.Status) error {
	r.mu.Lock()
	if err := r.appendJSONLocked(runfmt.TypeStatus, st); err != nil {
		r.mu.Unlock()
		return err
	}
	r.done = true
	dropped := r.dropped
	r.mu.Unlock()
	err := r.w.close(r)
	if r.stream != nil {
		r.stream.finish()
	}
	if r.uploads != nil {
		r.uploads.finish()
	}
	if dropped > 0 {
		err = errors.Join(fmt.Errorf("runlog: %d metric values were dropped: the disk did not keep up and %d MiB of records were waiting", dropped, maxBuffer>>20), err)
	}
	return err
}

// take hands the buffered records to the writer and leaves an empty buffer
// (reusing spare's storage) in their place.
func (r *Run) take(spare []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.enc.Take(spare)
}

// giveBack puts bytes the writer could not write back in front of the
// buffer, to be retried; they count against the buffer limit.
func (r *Run) giveBack(rest []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enc.Prepend(rest)
}

// heartbeat buffers a heartbeat record unless the run has finished.
func (r *Run) heartbeat() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		r.enc.Heartbeat(now())
	}
}
