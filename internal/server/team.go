package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/trash"
)

// TeamStore is what a team server keeps in its database beside the
// store: the logs clients stream to it (internal/store/postgres's
// log_segments, their older stretches sealed into the bucket),
// notifications between the replicas and advisory locks. *postgres.DB
// implements it.
type TeamStore interface {
	store.Store
	// AppendLog appends a batch of a stream at offset once check accepts
	// the new bytes, with the offset checked in the same transaction.
	AppendLog(ctx context.Context, run, stream string, offset int64, body []byte, check func(size int64, body []byte) error) (int64, error)
	// LogSizes returns the size of each stream of a run.
	LogSizes(ctx context.Context, run string) (map[string]int64, error)
	// OpenLog reads a stream from an offset on.
	OpenLog(ctx context.Context, run, stream string, from int64) io.ReadCloser
	// LaggingRuns returns the runs whose logs hold bytes not indexed yet.
	LaggingRuns(ctx context.Context, textStreams []string) ([]string, error)
	// CompactLogs merges small segments of up to limit streams.
	CompactLogs(ctx context.Context, limit int) (int, error)
	// Maintain vacuums the store's live tail when it has left enough dead
	// rows behind (internal/store/postgres, "Not bloating").
	Maintain(ctx context.Context) error
	// SetLogObjects gives the store the bucket its sealed stretches are
	// read from; SealLogs seals stretches of logs into it (team_seal.go).
	SetLogObjects(o postgres.LogObjects)
	SealLogs(ctx context.Context, opts postgres.SealOptions) (postgres.SealStats, error)
	// WithLock runs fn if no other session holds the advisory lock key.
	WithLock(ctx context.Context, key int64, fn func(context.Context) error) (bool, error)
	// TrashRun records a run in the trash with info (JSON) and deletes its
	// index rows, keeping its logs; RestoreRun takes it out again; Trash
	// lists what is recorded; Trashed says whether a run is there.
	TrashRun(ctx context.Context, id string, info []byte) error
	RestoreRun(ctx context.Context, id string) (bool, error)
	Trash(ctx context.Context) ([]json.RawMessage, error)
	Trashed(ctx context.Context, id string) (bool, error)
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string, fn func(payload string)) error
	// The MLflow API's documents (team_mlflow.go).
	mlflowDocuments
}

var _ TeamStore = (*postgres.DB)(nil)

// changedChannel is the notification channel on which a replica names each
// run it indexed, so that every replica's caches and event streams follow.
const changedChannel = "runlog_changed"

// backgroundLock is the advisory lock under which one replica at a time
// does the background work (teamBackground, teamSeal).
const backgroundLock int64 = 0x72756e6c6f670002

// teamStore adapts a TeamStore to what the server serves: it is never
// read-only (a standby answers store.ErrReadOnly per request instead).
type teamStore struct{ TeamStore }

func (teamStore) ReadOnly() bool { return false }

// teamIngest is ingest on a team server: the batch is appended to the
// stream's segments in PostgreSQL (the offset check and the trimming of
// what is held in the same transaction, so that of two replicas racing on
// one stream one wins and the other answers 409 or trims), then the run is
// indexed from its segments, and only then acknowledged. Nothing is kept
// on this replica's disk.
func (s *Server) teamIngest(w http.ResponseWriter, r *http.Request, id, stream string, offset int64, body []byte) error {
	ctx := r.Context()
	size, err := s.team.AppendLog(ctx, id, stream, offset, body, func(size int64, body []byte) error {
		return checkBatch(id, stream, size, body)
	})
	var gap *postgres.GapError
	switch {
	case errors.As(err, &gap):
		return &conflictError{offset, gap.Size}
	case errors.Is(err, postgres.ErrLogDiffers):
		return badRequest("bytes from offset %d differ from the server's copy of %s: another run with the same id?", offset, stream)
	case err != nil:
		return sealedDown(err) // a resent batch compared with sealed bytes
	}
	if len(body) > 0 && !remote.IsText(stream) {
		if err := s.teamIndex(ctx, id); err != nil {
			return sealedDown(err)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Size int64 `json:"size"`
	}{size})
	return nil
}

// teamIndex indexes run id from its segments, through the one ingest path
// run folders take, and tells every replica that it changed. A run in the
// trash is left out of the index: its logs are kept, and go on growing if
// it was trashed while it ran, as a home's folder in the trash does.
func (s *Server) teamIndex(ctx context.Context, id string) error {
	if trashed, err := s.team.Trashed(ctx, id); err != nil || trashed {
		return err
	}
	sizes, err := s.team.LogSizes(ctx, id)
	if err != nil {
		return err
	}
	var logs []ingest.Stream
	for name, size := range sizes {
		if remote.IsText(name) {
			continue
		}
		logs = append(logs, ingest.Stream{Name: name, Size: size, Open: func(from int64) (io.ReadCloser, error) {
			return s.team.OpenLog(ctx, id, name, from), nil
		}})
	}
	res, err := ingest.Streams(ctx, s.team, id, logs, ingest.Options{Warn: s.warns.warn})
	if err != nil {
		return err
	}
	if len(res.Changed) > 0 {
		// Moved to the trash while this indexed it: TrashRun records the
		// run before deleting its rows, so that either it saw them written
		// and deleted them, or this sees it recorded and deletes them.
		if trashed, err := s.team.Trashed(ctx, id); err != nil {
			return err
		} else if trashed {
			if err := s.team.DeleteRun(ctx, id); err != nil {
				return err
			}
		}
		// Delivered to every replica, this one included (teamChanged).
		if err := s.team.Notify(ctx, changedChannel, id); err != nil {
			s.warns.warn(err)
		}
	}
	return nil
}

// teamChanged is what a replica does when a run changed, wherever it was
// indexed: its caches drop the run and its event streams name it. An
// empty id (the listener reconnected and may have missed some) looks at
// every run's cursors.
func (s *Server) teamChanged(ctx context.Context, id string) {
	var changed []string
	if id == "" {
		curs, err := s.db.Cursors(ctx)
		if err != nil {
			s.warns.warn(err)
			return
		}
		changed = s.gens.update(curs, nil)
		s.mu.Lock()
		s.runs, s.onDisk = len(curs), len(curs) // the team's logs are its "disk"
		s.mu.Unlock()
	} else {
		changed = s.gens.bump(id)
	}
	if len(changed) > 0 {
		s.series.refresh(ctx, s.db, changed, s.gens.of)
		s.hub.publish(changed)
	}
}

// teamLoop is a team replica's background work until ctx ends: it listens
// for the runs other replicas (and this one) indexed, compares every run's
// cursors every teamRecheck intervals (and at the start), and every
// IndexInterval, under an advisory lock so that one replica at a time does
// it, indexes logs left unindexed (a replica killed between storing a
// batch and indexing it), compacts the segments of long streams and, with
// a bucket, seals their older stretches into it (team_seal.go).
func (s *Server) teamLoop(ctx context.Context) {
	defer close(s.done)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		s.team.Listen(ctx, changedChannel, func(id string) { s.teamChanged(ctx, id) })
	}()
	defer func() { <-listening }()
	tick := time.NewTicker(s.opts.IndexInterval)
	defer tick.Stop()
	var seal sealer
	s.teamChanged(ctx, "") // the runs there are, for /api/v1/health
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n%teamRecheck == 0 {
			// Notifications are not queued for a replica that was not
			// listening: compare the cursors now and then.
			s.teamChanged(ctx, "")
		}
		_, err := s.team.WithLock(ctx, backgroundLock, func(ctx context.Context) error {
			err := s.teamBackground(ctx)
			s.teamSeal(ctx, &seal)
			return err
		})
		s.mu.Lock()
		s.indexErr = err
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.warns.warn(err)
		}
	}
}

// teamRecheck is every how many index intervals a replica compares every
// run's cursors with what it last saw.
const teamRecheck = 10

// teamBackground catches up on unindexed logs, compacts segments and
// vacuums the store's live tail when it needs it; one replica at a time
// runs it.
func (s *Server) teamBackground(ctx context.Context) error {
	lagging, err := s.team.LaggingRuns(ctx, []string{layout.TrainingLog})
	if err != nil {
		return err
	}
	for _, id := range lagging {
		if err := s.teamIndex(ctx, id); err != nil {
			return err
		}
	}
	if _, err := s.team.CompactLogs(ctx, 16); err != nil {
		return err
	}
	return s.team.Maintain(ctx)
}

// teamTail returns the last n lines of a run's training.log held by the
// team store, and whether it has one.
func (s *Server) teamTail(ctx context.Context, id string, n int) ([]string, bool, error) {
	sizes, err := s.team.LogSizes(ctx, id)
	if err != nil {
		return nil, false, err
	}
	size, ok := sizes[layout.TrainingLog]
	if !ok {
		return nil, false, nil
	}
	lines, err := tailOf(logReaderAt{ctx, s.team, id, layout.TrainingLog}, size, n)
	return lines, true, sealedDown(err)
}

// logReaderAt reads a stream of the team store at offsets.
type logReaderAt struct {
	ctx    context.Context
	team   TeamStore
	id     string
	stream string
}

func (l logReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r := l.team.OpenLog(l.ctx, l.id, l.stream, off)
	defer r.Close()
	return io.ReadFull(r, p)
}

// teamAnnotate changes run id on a team server as annotate.Append does in
// a run folder: the annotate record a is appended to the run's annotate.Log
// stream in PostgreSQL after the records it holds (with its header, for a
// new one) through a teamLog, as an ingest batch is, so that it is durable
// before the answer and `runlog pull` writes it into the run's
// run.cli.log; then the run is indexed from its logs. Of two replicas
// annotating one run at once, one appends and the other reads what it
// added and encodes again after it.
func (s *Server) teamAnnotate(ctx context.Context, id string, a runfmt.Annotate) error {
	writer := "runlog-server/" + s.opts.Version
	l := &teamLog{s: s, id: id, stream: annotate.Log, opts: runfmt.AppendOptions{
		Create: func() runfmt.Header { return annotate.Header(id, writer, a) },
	}}
	if err := l.Append(ctx, func(enc *runfmt.Encoder) error { return enc.JSON(runfmt.TypeAnnotate, a) }); err != nil {
		return fmt.Errorf("annotate run %s: %w", id, err)
	}
	if err := s.teamIndex(ctx, id); err != nil {
		return fmt.Errorf("run %s was changed, but indexing failed: %w", id, err)
	}
	s.teamChanged(ctx, id) // this replica's caches at once; the others by NOTIFY
	return nil
}

// teamTrash moves a run to a team server's trash: info is recorded and the
// run's index rows deleted, its logs kept (postgres.DB.TrashRun), and every
// replica told, so that it leaves every replica's lists.
func (s *Server) teamTrash(ctx context.Context, info trash.Info) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := s.team.TrashRun(ctx, info.ID, data); err != nil {
		return err
	}
	if err := s.team.Notify(ctx, changedChannel, info.ID); err != nil {
		s.warns.warn(err)
	}
	s.teamChanged(ctx, info.ID)
	return nil
}

// teamTrashList returns what a team server's trash holds of each run.
func (s *Server) teamTrashList(ctx context.Context) ([]trash.Info, error) {
	raw, err := s.team.Trash(ctx)
	if err != nil {
		return nil, err
	}
	all := make([]trash.Info, 0, len(raw))
	for _, r := range raw {
		var info trash.Info
		if err := json.Unmarshal(r, &info); err != nil {
			return nil, fmt.Errorf("the trash's entry %s: %w", r, err)
		}
		all = append(all, info)
	}
	return all, nil
}

// teamRestore takes run id out of a team server's trash and indexes it
// again from its logs (its cursors went with its index rows, so from the
// start), which tells every replica.
func (s *Server) teamRestore(ctx context.Context, id string) error {
	if _, err := s.team.RestoreRun(ctx, id); err != nil {
		return err
	}
	if err := s.teamIndex(ctx, id); err != nil {
		return fmt.Errorf("run %s was restored, but indexing failed: %w", id, err)
	}
	s.teamChanged(ctx, id)
	return nil
}
