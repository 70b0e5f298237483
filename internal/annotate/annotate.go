// Package annotate changes a run after the fact: a rename, tags, notes,
// the hypothesis, archiving. A change is an annotate record appended to
// the run folder's Log, never a write to the store: the store is only an
// index of the run folders, so the change survives `runlog index
// --rebuild` and a copy of the folder to another home, and ingest stays
// the store's only writer. The CLI (`runlog note`, `tag`, `rename`,
// `archive`) and the server's /api/v1/runs/{id}/annotate both write
// through Append.
package annotate

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/runfmt"
)

// Log is the log that runlog's own commands and its server attach to a
// run folder to change the run after the fact.
//
// Unlike the other logs of a run, several processes append to it, one
// after another: each holds an exclusive lock on the file while it reads
// the last sequence number and appends (docs/run-log-format.md, "Several
// writers").
const Log = "run.cli.log"

// Append appends an annotate record to the log at path, creating it with
// its header if need be, under the log's lock. writer names the program
// writing ("runlog-cli/1.2.0"), for the header of a new log.
func Append(path, runID, writer string, a runfmt.Annotate) error {
	log, err := runfmt.OpenAppend(path, runfmt.AppendOptions{Create: func() runfmt.Header { return Header(runID, writer, a) }})
	if err != nil {
		return err
	}
	defer log.Close()
	if err := log.Encoder().JSON(runfmt.TypeAnnotate, a); err != nil {
		return err
	}
	if err := log.Flush(); err != nil {
		return err
	}
	return log.Close()
}

// Header is the header record of a new Log of run runID, started by
// writer with the record a (the team server starts its Log streams with it).
func Header(runID, writer string, a runfmt.Annotate) runfmt.Header {
	host, _ := os.Hostname()
	return runfmt.Header{Format: 1, ID: runID, Attach: true, Time: a.Time, Host: host, PID: os.Getpid(), Writer: writer}
}

// CheckLabel refuses a run name or tag that is blank or that runfmt does
// not allow; what says which it is.
func CheckLabel(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%w: empty %s", runfmt.ErrInvalid, what)
	}
	return runfmt.CheckName(what, s)
}

// Check refuses a record that a reader would not take, or that would leave
// a run with tags, notes or a hypothesis beyond runfmt's limits; tags,
// notes and hypothesis are the run's before it.
func Check(a runfmt.Annotate, tags []string, notes, hypothesis string) error {
	if a.Name != "" {
		if err := CheckLabel("name", a.Name); err != nil {
			return err
		}
	}
	for _, t := range slices.Concat(a.AddTags, a.RemoveTags) {
		if err := CheckLabel("tag", t); err != nil {
			return err
		}
	}
	after, notes, hypothesis := a.Apply(tags, notes, hypothesis)
	if len(after) > runfmt.MaxTags {
		return fmt.Errorf("%w: a run has at most %d tags", runfmt.ErrInvalid, runfmt.MaxTags)
	}
	for _, f := range []struct{ what, s string }{{"notes", notes}, {"hypothesis", hypothesis}} {
		if !utf8.ValidString(f.s) {
			return fmt.Errorf("%w: the %s are not valid UTF-8", runfmt.ErrInvalid, f.what)
		}
		if len(f.s) > runfmt.MaxTextLen {
			return fmt.Errorf("%w: the %s would be %d bytes; the limit is %d", runfmt.ErrInvalid, f.what, len(f.s), runfmt.MaxTextLen)
		}
	}
	return nil
}
