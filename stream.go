package runlog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlog/runlog/internal/remote"
)

// Streaming to a server. With Options.URL (or RUNLOG_URL) set, a run also
// sends its log to a runlog server in the background (docs/server.md): the
// bytes of its run.log, whole records only, appended to the server's copy
// from the offset the server acknowledged. The local run.log stays the
// durable copy and logging never waits for the network: while the server
// is unreachable the streamer backs off and later catches up from where
// the server's copy ends, so nothing is sent twice or left out.

// Streaming limits.
const (
	streamEvery   = time.Second // send at most this often ...
	streamPending = 1 << 20     // ... unless this many bytes are waiting
	maxBackoff    = 30 * time.Second
	// defaultStreamTimeout is how long Finish waits for the server to
	// acknowledge the end of the log.
	defaultStreamTimeout = 5 * time.Second
)

// streamer sends a run's log file to a server. One goroutine sends; the
// writer tells it how much the file grew.
type streamer struct {
	c       *remote.Client
	id      string
	stream  string // the file's name in the run folder: run.log, run.<name>.log
	path    string
	timeout time.Duration

	ctx     context.Context // canceled when Finish stops waiting
	cancel  context.CancelFunc
	written atomic.Int64 // bytes in the local file
	acked   atomic.Int64 // bytes the server acknowledged; -1 until known
	kickC   chan struct{}
	finishC chan struct{}
	doneC   chan struct{}

	mu     sync.Mutex
	warned bool
	last   error
}

// newStreamer returns a streamer for a run's log file of size bytes, or nil
// when no server is configured.
func newStreamer(opts Options, id, stream, path string, size int64) *streamer {
	u, token := opts.URL, opts.Token
	if u == "" {
		u = os.Getenv(remote.EnvURL)
	}
	if u == "" || u == "-" {
		return nil
	}
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		fmt.Fprintf(os.Stderr, "runlog: run %s: %q is not a server URL (want http://host:port); the run is logged locally only\n", id, u)
		return nil
	}
	if token == "" {
		token = os.Getenv(remote.EnvToken)
	}
	timeout := opts.StreamTimeout
	if timeout <= 0 {
		timeout = defaultStreamTimeout
	}
	s := &streamer{
		c:  &remote.Client{URL: u, Token: token, Agent: "runlog-go/" + Version, HTTP: streamHTTP},
		id: id, stream: stream, path: path, timeout: timeout,
		kickC: make(chan struct{}, 1), finishC: make(chan struct{}), doneC: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.written.Store(size)
	s.acked.Store(-1)
	return s
}

// streamHTTP bounds each request, so that a server that stops answering
// is noticed and retried.
var streamHTTP = &http.Client{Timeout: 30 * time.Second}

// wrote tells the streamer that the writer appended n bytes.
func (s *streamer) wrote(n int) {
	if s.written.Add(int64(n))-max(s.acked.Load(), 0) >= streamPending {
		select {
		case s.kickC <- struct{}{}:
		default:
		}
	}
}

// start runs the sending goroutine.
func (s *streamer) start() { go s.loop() }

func (s *streamer) loop() {
	defer close(s.doneC)
	ctx := s.ctx
	f, err := os.Open(s.path)
	if err != nil {
		s.warn(err)
		return
	}
	defer f.Close()
	tick := time.NewTicker(streamEvery)
	defer tick.Stop()
	var buf []byte
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		select {
		case <-s.finishC:
			s.drain(ctx, f, buf)
			return
		case <-s.kickC:
			if retry != nil {
				continue // backing off: the server is down
			}
		case <-tick.C:
			if retry != nil {
				continue
			}
		case <-retry:
			retry = nil
		}
		var err error
		buf, err = s.send(ctx, f, buf, false)
		if err == nil {
			backoff = 0
			continue
		}
		s.warn(err)
		if remote.Transient(err) {
			backoff = min(max(2*backoff, 500*time.Millisecond), maxBackoff)
		} else {
			backoff = maxBackoff // a person must fix it; keep trying now and then
		}
		retry = time.After(backoff)
	}
}

// send sends batches until nothing whole is left to send (all, at
// Finish) or fewer than streamPending bytes are waiting.
func (s *streamer) send(ctx context.Context, f *os.File, buf []byte, all bool) ([]byte, error) {
	conflicts := 0
	for {
		acked := s.acked.Load()
		if acked < 0 {
			size, err := s.c.Size(ctx, s.id, s.stream)
			if err != nil {
				return buf, err
			}
			s.acked.Store(size)
			continue
		}
		batch, err := remote.ReadBatch(f, s.stream, acked, buf)
		if err != nil {
			return buf, err
		}
		buf = batch[:cap(batch)]
		if len(batch) == 0 {
			return buf, nil
		}
		size, err := s.c.Append(ctx, s.id, s.stream, acked, batch)
		var ce *remote.ConflictError
		if errors.As(err, &ce) {
			if conflicts++; conflicts > 3 {
				return buf, fmt.Errorf("the server keeps refusing the log at offset %d: %w", acked, err)
			}
			s.acked.Store(ce.Size) // the server lost bytes (a new home?): resend from its end
			continue
		}
		if err != nil {
			return buf, err
		}
		s.acked.Store(size)
		s.recovered()
		if !all && s.written.Load()-size < streamPending {
			return buf, nil
		}
	}
}

// drain sends what is left once the log is complete, trying until the
// server has all of it or the timeout passes.
func (s *streamer) drain(ctx context.Context, f *os.File, buf []byte) {
	for {
		var err error
		buf, err = s.send(ctx, f, buf, true)
		if err == nil && s.acked.Load() >= s.written.Load() {
			return
		}
		if err != nil && !remote.Transient(err) {
			s.warn(err) // a person must fix it (a token): waiting would not help
			return
		}
		if err == nil {
			err = fmt.Errorf("the server holds %d of %d bytes", s.acked.Load(), s.written.Load())
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.last = err
			s.mu.Unlock()
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// finish waits, up to the stream timeout, for the server to acknowledge
// the whole log, which the writer has closed. If it does not, it warns:
// `runlog sync` can send the rest later.
func (s *streamer) finish() {
	close(s.finishC)
	stop := time.AfterFunc(s.timeout, s.cancel)
	<-s.doneC
	stop.Stop()
	s.cancel()
	acked, total := s.acked.Load(), s.written.Load()
	if acked >= total {
		return
	}
	s.mu.Lock()
	err := s.last
	s.mu.Unlock()
	if unauthorized(err) {
		return // warn said it all, once
	}
	fmt.Fprintf(os.Stderr, "runlog: run %s: the server at %s has %d of the %d bytes of %s (%v); `runlog sync %s` sends the rest\n",
		s.id, s.c.URL, max(acked, 0), total, s.stream, err, s.id)
}

// unauthorized reports whether the server refused the token.
func unauthorized(err error) bool {
	var se *remote.StatusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden)
}

// warn reports the first failure to reach the server: logging goes on
// locally.
func (s *streamer) warn(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = err
	if !s.warned {
		s.warned = true
		if unauthorized(err) {
			fmt.Fprintf(os.Stderr, "runlog: run %s: %s refused the token (%v): set RUNLOG_TOKEN (or Options.Token); the run is logged locally, and `runlog sync %s` sends it later\n", s.id, s.c.URL, err, s.id)
			return
		}
		fmt.Fprintf(os.Stderr, "runlog: run %s: cannot send to %s: %v; logging continues locally and is sent when the server answers\n", s.id, s.c.URL, err)
	}
}

// recovered notes that the server answers again, so that the next failure
// is reported again.
func (s *streamer) recovered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warned {
		s.warned = false
		fmt.Fprintf(os.Stderr, "runlog: run %s: %s answers again; catching up\n", s.id, s.c.URL)
	}
}
