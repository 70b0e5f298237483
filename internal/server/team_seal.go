package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/postgres"
)

// A team server with a bucket (Options.Files) seals the older bytes of the
// logs it holds into the bucket (docs/team-server.md, "Sealed logs"): in
// the background work, under the advisory lock, after catching up and
// compacting, postgres.DB.SealLogs stores stretches of each stream's rows
// as objects and replaces the rows by references to them. Ingest is
// acknowledged against PostgreSQL as before; every reader of a log
// (indexing, the training log's tail, runlog pull) reads sealed stretches
// from the bucket through the store (postgres.DB.SetLogObjects).

// sealConfig is what a team server seals and how long it waits after a
// failed round. Tests change it (SetSealPolicy in export_test.go).
type sealConfig struct {
	opts     postgres.SealOptions
	retry    time.Duration // the first wait after a failure
	retryMax time.Duration // the longest: it doubles up to this
}

var sealPolicy = struct {
	sync.Mutex
	sealConfig
}{sealConfig: defaultSealPolicy}

// defaultSealPolicy is postgres.SealOptions' defaults (stretches of 8 MiB;
// a finished run's streams whole a minute after they last grew, any
// stream an hour after), training.log being the one stream not indexed,
// and 10 s before trying again after a failure, doubling to 5 minutes: a
// bucket that stays down costs one failed attempt (objstore's retries, a
// minute by default, under the background lock) every five minutes.
var defaultSealPolicy = sealConfig{
	opts:     postgres.SealOptions{TextStreams: []string{layout.TrainingLog}},
	retry:    10 * time.Second,
	retryMax: 5 * time.Minute,
}

func currentSealPolicy() sealConfig {
	sealPolicy.Lock()
	defer sealPolicy.Unlock()
	return sealPolicy.sealConfig
}

// sealer is a replica's state between sealing rounds: when it may try
// again after a failure.
type sealer struct {
	wait time.Duration
	next time.Time
}

// teamSeal runs a sealing round if the server has a bucket and no failure
// asks it to wait. Its errors are warnings: a bucket that is down stops
// nothing but sealing, which the next round after the wait tries again.
func (s *Server) teamSeal(ctx context.Context, sl *sealer) {
	if s.opts.Files == nil || time.Now().Before(sl.next) {
		return
	}
	policy := currentSealPolicy()
	_, err := s.team.SealLogs(ctx, policy.opts)
	switch {
	case err == nil, errors.Is(err, postgres.ErrSealRace):
		sl.wait, sl.next = 0, time.Time{}
	case ctx.Err() != nil:
	default:
		sl.wait = min(max(2*sl.wait, policy.retry), policy.retryMax)
		sl.next = time.Now().Add(sl.wait)
		s.warns.warn(fmt.Errorf("%w (sealing tries again in %s)", err, sl.wait))
	}
}

// sealedDown turns a read of sealed log bytes the bucket did not serve
// into a 503: the bytes are safe, the bucket is not answering now.
func sealedDown(err error) error {
	if errors.Is(err, postgres.ErrSealedUnavailable) {
		return &httpError{http.StatusServiceUnavailable,
			"the file store, which holds this run's older log bytes, is unavailable; try again later: " + err.Error()}
	}
	return err
}
