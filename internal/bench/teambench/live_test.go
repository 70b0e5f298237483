package teambench

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/server/nginxtest"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

func TestQuantile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{nil, 0.99, 0},
		{ms(7), 0.5, 7 * time.Millisecond},
		{ms(7), 1, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 0, 1 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(hundred...), 0.9, 90 * time.Millisecond},
		{ms(hundred...), 1, 100 * time.Millisecond},
	} {
		if got := quantile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("quantile(%d values, %g) = %v, want %v", len(tc.sorted), tc.q, got, tc.want)
		}
	}
}

// timeoutError is a net.Error that timed out, as a client's deadline
// gives.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

func TestRecorderFailed(t *testing.T) {
	rec := &recorder{errs: map[string]int{}, sample: map[string]string{}}
	for _, err := range []error{
		&remote.StatusError{Code: 503, Message: "the team server's database cannot be reached"},
		&remote.StatusError{Code: 502},
		&remote.StatusError{Code: 503},
		&remote.ConflictError{Size: 10},
		timeoutError{},
		errors.New("connection reset by peer"),
	} {
		rec.failed(err)
	}
	if want := "409: 1, 502: 1, 503: 2, network: 1, timeout: 1"; rec.errorsText() != want {
		t.Errorf("errors: %q, want %q", rec.errorsText(), want)
	}
	if rec.requests != 6 || rec.points != 0 {
		t.Errorf("%d requests, %d points; want 6 and 0", rec.requests, rec.points)
	}
	if !strings.Contains(rec.sample["503"], "cannot be reached") {
		t.Errorf("sample of 503: %q, want the first message", rec.sample["503"])
	}
	rec = &recorder{errs: map[string]int{}}
	if rec.errorsText() != "none" {
		t.Errorf("no errors: %q, want none", rec.errorsText())
	}
}

// TestLive runs a small live load end to end: a PostgreSQL started with
// initdb, two replicas, nginx, runs streaming through it. runLive itself
// checks that PostgreSQL holds every point acknowledged; the table must
// count them.
func TestLive(t *testing.T) {
	if nginxtest.Bin() == "" {
		t.Skip("nginx is not installed: apt-get install nginx")
	}
	if pgtest.Bin() == "" {
		t.Skip("PostgreSQL is not installed")
	}
	var out, log bytes.Buffer
	c := Config{Live: true, LiveRuns: 3, LiveKeys: 4, LiveSeconds: 2, LiveHz: 5, Out: &out, Log: &log,
		DSN: os.Getenv(pgtest.EnvDSN)}
	if err := Run(context.Background(), c); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// 3 runs × 4 keys × 10 steps.
	for _, want := range []string{"| 3 runs × 4 keys, a batch a run every 200 ms (one point of each key) for 2 s | ", " | 120 | ",
		"PostgreSQL after the load (12 series, 120 points)", "the same points in full chunks of 4096"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}
