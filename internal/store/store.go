// Package store defines runlog's store: the index of runs, their metric
// series and files that every view queries. Ingest is its only writer.
//
// The embedded implementation is in store/sqlite; storetest holds the
// conformance suite every implementation must pass.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
)

// AmbiguousError is returned by Resolve when a reference matches several
// runs. It wraps ErrAmbiguous.
type AmbiguousError struct {
	Ref    string
	ByName bool     // the runs share the name Ref; otherwise Ref is an id prefix
	IDs    []string // newest first
	Names  []string
}

func (e *AmbiguousError) Error() string {
	var list []string
	for i, id := range e.IDs {
		list = append(list, id+" ("+e.Names[i]+")")
	}
	what := "runs"
	if e.ByName {
		what = "runs named so"
	}
	return fmt.Sprintf("%v: %q matches %d %s: %s; use an id", ErrAmbiguous, e.Ref, len(e.IDs), what, strings.Join(list, ", "))
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// Errors of every store implementation.
var (
	ErrNotFound  = errors.New("not found")
	ErrAmbiguous = errors.New("ambiguous run reference")
	// ErrConflict is returned by Write when the run's cursor is no longer
	// the one the batch was built on: another writer got there first.
	ErrConflict = errors.New("run was indexed concurrently")
	ErrReadOnly = errors.New("store is read-only")
	ErrFull     = errors.New("store is full")
	// ErrUnavailable is returned by a store on a database server that
	// cannot be reached or is restarting: trying again later may work.
	ErrUnavailable = errors.New("store is unavailable")
)

// Store is the index of runs.
type Store interface {
	// Write applies a batch of records of one stream of a run atomically,
	// if the stream's cursor still equals b.Prev; otherwise it returns
	// ErrConflict. It keeps nothing of b once it returns: the caller may
	// reuse b's points.
	Write(ctx context.Context, b *Batch) error
	// Cursors returns the cursor of every stream of every run, by run id
	// and stream name.
	Cursors(ctx context.Context) (map[string]map[string]Cursor, error)
	// Cursor returns the cursor of one stream of a run; a stream the store
	// has not seen has the zero cursor.
	Cursor(ctx context.Context, runID, stream string) (Cursor, error)
	// KeyIDs returns the key ids a stream of a run has defined so far.
	KeyIDs(ctx context.Context, runID, stream string) (map[uint32]string, error)
	// DeleteRun removes a run and everything of it from the store.
	DeleteRun(ctx context.Context, id string) error

	// Runs returns the runs that match f, newest first, with the fields
	// a listing shows: identity, tags, hypothesis, status, times, host,
	// folder, config, last step, final losses and whether it is archived.
	// Run returns all fields.
	Runs(ctx context.Context, f Filter) ([]Run, error)
	// Run returns one run by exact id, with all its fields.
	Run(ctx context.Context, id string) (Run, error)
	// Resolve finds the run that ref names: an id, a unique id prefix or a
	// unique name.
	Resolve(ctx context.Context, ref string) (string, error)
	// Series returns the statistics of every series of a run, by key.
	// A run may have a million series: views that answer requests use
	// FindSeries, which bounds what it reads.
	Series(ctx context.Context, runID string) ([]Series, error)
	// FindSeries returns the series of a run that q selects, in key
	// order, at most q.Limit of them, and whether more match after them.
	FindSeries(ctx context.Context, runID string, q SeriesQuery) (found []Series, more bool, err error)
	// FirstSeries returns, for each of the runs, its first limit series in
	// key order, and the runs that have more than limit: FindSeries of
	// many runs at once, for listings.
	FirstSeries(ctx context.Context, runIDs []string, limit int) (first map[string][]Series, more map[string]bool, err error)
	// Points returns the points of one series in step order (points with
	// equal steps in the order they were logged).
	Points(ctx context.Context, runID, key string, opt PointsOptions) (series.Points, error)
	// Overview returns the overview (series.Overview) of the current
	// points of one series whose steps lie from from to to, both
	// included, taken in step order: blocks of at most
	// series.OverviewBlock consecutive points, each with the points that
	// downsampling keeps of it, in the roles series.OverviewOf gives them.
	// Where blocks are cut is the implementation's: the sqlite store keeps
	// one overview per chunk, written with it, so that a chart of a long
	// series reads a sixteenth of its points. Computing it from Points,
	// series.OverviewOf(pts.StepRange(from, to)), is correct, only slower.
	// A series the run does not have is ErrNotFound.
	Overview(ctx context.Context, runID, key string, from, to int64) (series.Overview, error)
	// Artifacts returns a run's files in the order they were registered.
	Artifacts(ctx context.Context, runID string) ([]Artifact, error)
	// Events returns a run's events in the order they happened.
	Events(ctx context.Context, runID string) ([]Event, error)
	// Segments returns the process segments of a run, oldest first.
	Segments(ctx context.Context, runID string) ([]Segment, error)
	// MediaStore reads the run's texts, images, tables, HTML and
	// histograms.
	MediaStore

	Close() error
}

// PrimaryStream is the stream of a run's own log, run.log. A run may have
// further streams: one per process attached to it (run.<name>.log).
const PrimaryStream = "run.log"

// Cursor says how much of one stream of a run the store holds.
type Cursor struct {
	Seq    uint64 // the last sequence number applied
	Offset int64  // run.log bytes indexed: the end of the last good record
	Size   int64  // run.log size when last indexed, torn tail included
	Mtime  int64  // run.log modification time then, in unix nanoseconds
}

// Run is a run as the store knows it. Times are unix seconds.
type Run struct {
	ID         string
	Name       string
	Project    string
	Group      string
	Tags       []string
	Notes      string
	Hypothesis string
	Status     string
	ExitCode   *int
	Error      string
	Start      float64 // first start
	End        float64 // 0 while running
	Last       float64 // time of the latest record: the heartbeat
	Host       string
	User       string
	Command    []string
	Dir        string // working directory
	Git        *runfmt.Git
	Env        map[string]string
	Parent     string
	Path       string          // the run folder
	Config     json.RawMessage // JSON object, verbatim
	Summary    json.RawMessage // JSON object of values the user set
	MaxStep    int64           // greatest step of any current point, -1 if none
	Active     float64         // seconds the run's processes ran
	Segments   int             // number of process segments (1 + resumes)
	// Archived runs are left out of listings unless a Filter asks for
	// them; set by `runlog archive`, cleared by `runlog unarchive`.
	Archived bool
	// Final values of the runs' main losses, when logged; filled by Runs.
	TrainLoss *series.Point
	ValLoss   *series.Point
}

// Wallclock returns the seconds from the run's first start to its latest
// record, gaps between resumes included.
func (r *Run) Wallclock() float64 {
	if r.Last < r.Start {
		return 0
	}
	return r.Last - r.Start
}

// Series is a metric series of a run and its statistics.
type Series struct {
	Key   string
	Goal  string // declared goal: runfmt.GoalMinimize, GoalMaximize or ""
	Stats series.Stats
}

// Artifact is a file of a run.
type Artifact struct {
	runfmt.Artifact
	Seq uint64
	// Superseded is set on an artifact of a step that a rewind went back
	// before: a checkpoint of the abandoned attempt.
	Superseded bool
}

// Event is something that happened to a run.
type Event struct {
	runfmt.Event
	Seq uint64
}

// Segment is a stretch of time in which a process was logging to the run.
type Segment struct {
	Start float64 // unix seconds
	Last  float64 // time of its latest record
}

// Filter selects runs. Empty fields match everything.
type Filter struct {
	Project string
	Status  string // as stored; crashed runs are stored as running
	Tag     string
	Name    string // substring of the name
	// Where, if set, keeps the runs whose config satisfies it (Cond's
	// doc says exactly when): the store evaluates it in its query, so
	// that with Limit a page of a filtered list reads only that page's
	// runs. A Where that fails Cond.Check is an error. Configs are JSON,
	// as ingest writes them: a config that is not matches no comparison
	// in SQLite, and fails the query in PostgreSQL (whose jsonb cast
	// refuses it).
	Where *Cond
	// Limit is the most runs returned, newest first; 0 means no limit.
	Limit int
	// Offset skips that many of the matching runs, newest first, before
	// the first returned: Offset 100 and Limit 100 are the second page.
	Offset int
	// Archived selects runs by whether they are archived. The zero value
	// matches every run; listings shown to people (runlog ls, report, the
	// web UI) ask for NotArchived unless told otherwise.
	Archived Archived
	// Brief limits the fields Runs fills to those a table of runs shows:
	// id, name, project, status, start and last record time, last step and
	// final losses. Reading fewer columns of thousands of runs is markedly
	// faster.
	Brief bool
	// Summary fills in each run's Summary, which a listing leaves out
	// otherwise.
	Summary bool
}

// Archived says which runs a Filter selects by their archived state.
type Archived int8

// What Filter.Archived selects.
const (
	AnyArchived  Archived = iota // archived or not
	NotArchived                  // runs that are not archived
	OnlyArchived                 // archived runs
)

// SeriesQuery selects series of a run for FindSeries.
type SeriesQuery struct {
	// Keys, if not empty, are the only keys to return (those the run has).
	Keys []string
	// Contains, if not empty, keeps the keys that contain it, ignoring
	// case.
	Contains string
	// After keeps the keys that sort after it: the last key of the
	// previous page.
	After string
	// Limit is the most series returned; 0 means DefaultSeriesLimit.
	Limit int
}

// DefaultSeriesLimit is the page size of FindSeries when none is given.
const DefaultSeriesLimit = 1000

// PointsOptions select points of a series.
type PointsOptions struct {
	// Superseded includes points that a rewind superseded.
	Superseded bool
}

// Batch is a run's records from one stretch of its log, ready to be
// applied at once. A batch starts with at most one resume and one rewind:
// ingest cuts batches before those records so that they apply to what the
// store held before.
type Batch struct {
	RunID  string
	Stream string // the stream the records come from; "" is PrimaryStream
	Path   string // the run folder, if any
	Prev   Cursor // the cursor the batch was built on
	Next   Cursor // the cursor once it is applied

	Resume *runfmt.Resume
	Rewind *runfmt.Rewind
	Header *runfmt.Header
	// Defaults is the header of an attached log: its name, project,
	// group, tags, notes and hypothesis fill those the run has not got
	// (the project "default" counts as none).
	Defaults *runfmt.Header
	Config   json.RawMessage            // the latest complete config
	Summary  map[string]json.RawMessage // updates; JSON null deletes a key
	Status   *runfmt.Status             // the latest status; applied unless older than the run's
	First    float64                    // the earliest record time in the batch
	Last     float64                    // the latest record time in the batch
	Defines  map[string]string          // key -> goal
	Arts     []Artifact
	Events   []Event
	Points   map[string]*series.Points // new points by key
	// Annotations change the run's tags, notes, hypothesis, name and
	// archived state, in order, after the header.
	Annotations []runfmt.Annotate
	// KeyIDs are the run.log key ids defined in this batch; ingest keeps
	// them with the run to decode later batches.
	KeyIDs map[uint32]string
	// Media are the batch's text, image, table and HTML values, and
	// Histograms its distributions, in the order logged.
	Media      []MediaEntry
	Histograms []Histogram
}

// Seen accounts for a record time in First and Last.
func (b *Batch) Seen(t float64) {
	if b.First == 0 || t < b.First {
		b.First = t
	}
	b.Last = max(b.Last, t)
}

// Empty reports whether the batch changes nothing but the cursor.
func (b *Batch) Empty() bool {
	return b.Resume == nil && b.Rewind == nil && b.Header == nil && b.Defaults == nil && b.Config == nil &&
		len(b.Summary) == 0 && b.Status == nil && b.Last == 0 && len(b.Defines) == 0 &&
		len(b.Arts) == 0 && len(b.Events) == 0 && len(b.Points) == 0 && len(b.KeyIDs) == 0 &&
		len(b.Annotations) == 0 && len(b.Media) == 0 && len(b.Histograms) == 0
}

// MediaStore reads a run's rich values: texts, images, tables, HTML and
// histograms (docs/run-log-format.md, "Rich values"). Every store
// implements it as part of Store.
type MediaStore interface {
	// MediaKeys returns one MediaKey per key and kind that the run has
	// logged, ordered by key, then kind. A key holds a handful of kinds
	// at most, and a run a few hundred keys: views read them at once.
	MediaKeys(ctx context.Context, runID string) ([]MediaKey, error)
	// Media returns values of one key of a run (texts, images, tables,
	// HTML: histograms are read by Histograms), ordered by step, values
	// of equal steps in the order logged. With q.AtOrBefore set, the
	// values of the greatest step at or before it that the key has (all
	// of them, however many); otherwise those with a step of at least
	// q.From, whole steps at a time until at least q.Limit values are
	// returned (a step is never split), and more tells whether values of
	// later steps follow. A run or key without values returns none and
	// no error.
	Media(ctx context.Context, runID, key string, q MediaQuery) (found []MediaEntry, more bool, err error)
	// Histograms returns the histograms of one key of a run in step
	// order (equal steps in the order logged) and how many it holds.
	// When it holds more than maxSteps (> 0; 1 counts as 2), only
	// maxSteps of them are returned, spread evenly over the list (the
	// i-th of n at position round(i·(total-1)/(n-1))), the first and the
	// last always among them.
	Histograms(ctx context.Context, runID, key string, maxSteps int) (found []Histogram, total int, err error)
}

// MediaKey is a key of a run's rich values and one of its kinds.
type MediaKey struct {
	Key       string
	Kind      string // runfmt.MediaText, MediaImage, MediaTable, MediaHTML or MediaHistogram
	Count     int64  // values logged: each value of a list counts
	FirstStep int64
	LastStep  int64
	// LastText is the kind text's value logged last (at the greatest
	// step; of equal steps, the last logged).
	LastText string
}

// MediaEntry is one text, image, table or HTML value of a run. A text has
// Kind runfmt.MediaText and Text; the others are files of the run folder, with
// the media record's fields.
type MediaEntry struct {
	runfmt.Media
	Text string // of a text value
	Seq  uint64 // of its record in its stream
}

// MediaQuery selects the values Media returns.
type MediaQuery struct {
	// AtOrBefore, if not nil, asks for the values of the greatest step at
	// or before it.
	AtOrBefore *int64
	// From is the first step of a page, when AtOrBefore is nil.
	From int64
	// Kind, if not empty, keeps only the values of that kind
	// (runfmt.MediaText…): the steps are those the kind has.
	Kind string
	// Limit is about how many values a page holds; 0 means
	// DefaultMediaLimit.
	Limit int
}

// DefaultMediaLimit is the page size of Media when none is given.
const DefaultMediaLimit = 100

// Histogram is one histogram of a run.
type Histogram struct {
	runfmt.Histogram
	Seq uint64 // of its record in its stream
}
