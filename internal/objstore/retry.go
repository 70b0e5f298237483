package objstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Backoff between attempts: doubling from firstWait up to maxWait, with
// jitter so that replicas that lost the server together do not return
// together.
const (
	firstWait = 100 * time.Millisecond
	maxWait   = 5 * time.Second
)

// retryable tells whether err may go away by itself: the server did not
// answer (no S3 status at all), is overloaded or failed (5xx, 429, 408).
// A refusal (403, 404, 400, a failed precondition) will not.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrCorrupt) {
		return false
	}
	switch code := s3Error(err).StatusCode; {
	case code == 0:
		return true // a network error: refused, reset, timed out
	case code >= 500, code == http.StatusTooManyRequests, code == http.StatusRequestTimeout:
		return true
	}
	return false
}

// retry calls fn until it succeeds, fails for good, the context ends or
// o.RetryFor has passed since the first failure. The error returned names
// op, the endpoint and how long it was tried.
func (s *S3) retry(ctx context.Context, op string, fn func() error) error {
	var start time.Time
	wait := firstWait
	for tries := 1; ; tries++ {
		err := fn()
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("%s: %w", op, err)
		}
		if start.IsZero() {
			start = time.Now()
		}
		if s.opts.RetryFor < 0 || time.Since(start)+wait > s.opts.RetryFor {
			return fmt.Errorf("%s: S3 at %s did not answer (%d tries over %s): %w",
				op, s.endpoint, tries, time.Since(start).Round(time.Millisecond), err)
		}
		jittered := wait/2 + rand.N(wait/2+1)
		if s.opts.OnRetry != nil {
			s.opts.OnRetry(op, err, jittered)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (S3 at %s: %v)", op, ctx.Err(), s.endpoint, err)
		case <-time.After(jittered):
		}
		wait = min(2*wait, maxWait)
	}
}
