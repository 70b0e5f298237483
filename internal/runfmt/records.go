package runfmt

import (
	"fmt"
	"slices"
)

// Run statuses, as written in Status records and shown by every view.
const (
	StatusRunning  = "running"
	StatusFinished = "finished"
	StatusFailed   = "failed"
	StatusKilled   = "killed"
	StatusCrashed  = "crashed"
	// StatusStopped is a run a supervisor ended early on purpose, such as
	// a sweep's median stopping rule: not a failure.
	StatusStopped = "stopped"
)

// Statuses names every status, for messages and help.
const Statuses = "running, finished, failed, killed, stopped or crashed"

// CheckStatus returns an error that names the statuses unless s is one.
func CheckStatus(s string) error {
	if !ValidStatus(s) {
		return fmt.Errorf("unknown status %q: use %s", s, Statuses)
	}
	return nil
}

// ValidStatus reports whether s is one of the run statuses.
func ValidStatus(s string) bool {
	switch s {
	case StatusRunning, StatusFinished, StatusFailed, StatusKilled, StatusCrashed, StatusStopped:
		return true
	}
	return false
}

// Header is the payload of the first record of a run.log: who the run is and
// where it ran. Fields a writer does not know are left out.
type Header struct {
	Format     int               `json:"format"`
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Project    string            `json:"project,omitempty"`
	Group      string            `json:"group,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	Notes      string            `json:"notes,omitempty"`
	Hypothesis string            `json:"hypothesis,omitempty"`
	Time       float64           `json:"time"`
	Host       string            `json:"host,omitempty"`
	User       string            `json:"user,omitempty"`
	PID        int               `json:"pid,omitempty"`
	Command    []string          `json:"command,omitempty"`
	Dir        string            `json:"cwd,omitempty"`
	Git        *Git              `json:"git,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Writer     string            `json:"writer,omitempty"`
	Parent     string            `json:"parent,omitempty"`
	// Attach marks the header of a log that a further process writes for
	// a run created elsewhere (run.<name>.log).
	Attach bool `json:"attach,omitempty"`
}

// Git describes the source tree a run was started from.
type Git struct {
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
	Remote string `json:"remote,omitempty"`
}

// Status is the payload of a status record: the run's state changed.
type Status struct {
	Status   string  `json:"status"`
	Time     float64 `json:"time"`
	ExitCode *int    `json:"exit_code,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// Artifact is the payload of an artifact record: a file of the run. Path is
// relative to the run folder when the file lies inside it, else absolute.
type Artifact struct {
	Path     string         `json:"path"`
	Kind     string         `json:"kind"`
	Step     *int64         `json:"step,omitempty"`
	Time     float64        `json:"time"`
	Size     int64          `json:"size"`
	SHA256   string         `json:"sha256,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Artifact kinds.
const (
	KindCheckpoint = "checkpoint"
	KindModel      = "model"
	KindPlot       = "plot"
	KindFile       = "file"
)

// Event is the payload of an event record: something that happened to the
// run at a time, such as an alert or a note.
type Event struct {
	Kind  string         `json:"kind"`
	Time  float64        `json:"time"`
	Step  *int64         `json:"step,omitempty"`
	Level string         `json:"level,omitempty"`
	Title string         `json:"title,omitempty"`
	Text  string         `json:"text,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// Event kinds written by runlog itself.
const (
	EventAlert   = "alert"
	EventNote    = "note"
	EventResumed = "resumed"
	EventRewound = "rewound"
)

// Define is the payload of a define record: how a metric is judged.
type Define struct {
	Key  string `json:"key"`
	Goal string `json:"goal"` // "minimize" or "maximize"
}

// Goals of a metric.
const (
	GoalMinimize = "minimize"
	GoalMaximize = "maximize"
)

// Resume is the payload of a resume record: a new process continues the run
// from here, so the time between the previous segment's last record and this
// one was not spent running.
type Resume struct {
	Time float64 `json:"time"`
	Host string  `json:"host,omitempty"`
	PID  int     `json:"pid,omitempty"`
}

// Rewind is the payload of a rewind record: the run continues from Step (a
// checkpoint), so points with a greater step logged before this record are
// superseded.
type Rewind struct {
	Time float64 `json:"time"`
	Step int64   `json:"step"`
}

// Annotate is the payload of an annotate record: a person changed the run's
// tags, notes, hypothesis, name or archived state after it started, with
// `runlog tag`, `note`, `rename`, `archive` or `unarchive`. Time is when the
// change was made; it says nothing about the run's activity, so it moves
// neither the run's last record nor its active time. The fields are applied
// in this order: the notes are replaced, the note is appended, tags are
// removed, then added; Name and Archived, when present, replace the run's.
type Annotate struct {
	Time       float64  `json:"time"`
	Notes      *string  `json:"notes,omitempty"`      // replaces the notes; "" clears them
	Note       string   `json:"note,omitempty"`       // appended to the notes as a new paragraph
	Hypothesis *string  `json:"hypothesis,omitempty"` // replaces the hypothesis
	AddTags    []string `json:"add_tags,omitempty"`
	RemoveTags []string `json:"remove_tags,omitempty"`
	// Name renames the run; readers ignore an empty one.
	Name string `json:"name,omitempty"`
	// Archived, when present, archives the run (true) or brings it back
	// to the listings (false).
	Archived *bool `json:"archived,omitempty"`
}

// Apply returns the tags, notes and hypothesis of a run after a.
func (a *Annotate) Apply(tags []string, notes, hypothesis string) ([]string, string, string) {
	if a.Notes != nil {
		notes = *a.Notes
	}
	if a.Note != "" {
		if notes != "" {
			notes += "\n\n"
		}
		notes += a.Note
	}
	if a.Hypothesis != nil {
		hypothesis = *a.Hypothesis
	}
	out := make([]string, 0, len(tags)+len(a.AddTags))
	for _, t := range tags {
		if !slices.Contains(a.RemoveTags, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range a.AddTags {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, notes, hypothesis
}
