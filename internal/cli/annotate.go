package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/version"
)

// CLILog is the log that runlog's own commands attach to a run folder to
// change the run after the fact (annotate.Log).
const CLILog = annotate.Log

// annotate appends a to the CLI log of run r, indexes it and returns the
// run as the store now has it.
func (e *env) annotate(ctx context.Context, st store.Store, r store.Run, a runfmt.Annotate) (store.Run, error) {
	if r.Path == "" {
		return r, fmt.Errorf("run %s has no folder in this home to write to", r.ID)
	}
	path := filepath.Join(r.Path, CLILog)
	if err := appendAnnotation(path, r.ID, a); err != nil {
		return r, fmt.Errorf("annotate run %s: %w", r.ID, err)
	}
	if _, err := ingest.Run(ctx, st, r.Path, ingest.Options{Warn: e.warn}); err != nil {
		if errors.Is(err, store.ErrReadOnly) {
			e.warn(fmt.Errorf("written to %s, but the store is read-only: `runlog index` shows it once it can be written", path))
			return r, nil
		}
		return r, fmt.Errorf("written to %s, but indexing it failed (`runlog index` retries): %w", path, err)
	}
	return st.Run(ctx, r.ID)
}

// appendAnnotation appends an annotate record to the CLI log at path,
// creating it with its header if need be, under the log's lock.
func appendAnnotation(path, runID string, a runfmt.Annotate) error {
	return annotate.Append(path, runID, "runlog-cli/"+version.String(), a)
}
