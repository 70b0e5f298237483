package runlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/runfmt"
)

// Uploading files. A run that streams to a server also uploads the files
// it registers with LogArtifact, in the background, by its upload policy
// (Options.Upload, $RUNLOG_UPLOAD; default best+last: every artifact that
// is not a checkpoint, the checkpoints that are the best so far by their
// validation score, and the latest). The queue and what the server
// acknowledged are kept in the run folder (uploads.json), so that what a
// crash, a restart or a server that was down left unsent is sent when the
// run resumes, or by `runlog sync`. The local files stay: they are the
// durable copy.

// defaultUploadTimeout is how long Finish waits for the uploads queued.
const defaultUploadTimeout = time.Minute

// uploader sends a run's registered files to the server its log streams
// to. One goroutine sends; LogArtifact queues.
type uploader struct {
	c       *remote.Client
	id, dir string
	stream  *streamer // the run's log: the run exists on the server once it holds some
	timeout time.Duration

	ctx     context.Context
	cancel  context.CancelFunc
	kickC   chan struct{}
	finishC chan struct{}
	doneC   chan struct{}

	mu     sync.Mutex
	st     remote.UploadState
	warned bool
	last   error
}

// newUploader returns the uploader of a run that streams its run.log, or
// nil when its policy is none or the policy or the state are unusable
// (said on stderr: the run itself goes on).
func newUploader(opts Options, s *streamer, id, dir string) *uploader {
	if s == nil || s.stream != "run.log" {
		return nil // an attached writer's files are left to `runlog sync`
	}
	p := opts.Upload
	if p == "" {
		p = os.Getenv(remote.EnvUpload)
	}
	policy, err := remote.ParsePolicy(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runlog: run %s: %v; no files are uploaded\n", id, err)
		return nil
	}
	if policy == remote.PolicyNone {
		return nil
	}
	st, err := remote.LoadUploads(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runlog: run %s: %v; starting the uploads' record again\n", id, err)
	}
	if st.URL != s.c.URL {
		st.Acked = map[string]string{} // another server acknowledged those
		st.URL = s.c.URL
	}
	st.Chooser.Policy = policy
	timeout := opts.UploadTimeout
	if timeout <= 0 {
		timeout = defaultUploadTimeout
	}
	u := &uploader{
		c: s.c, id: id, dir: dir, stream: s, timeout: timeout, st: st,
		kickC: make(chan struct{}, 1), finishC: make(chan struct{}), doneC: make(chan struct{}),
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	return u
}

func (u *uploader) start() { go u.loop() }

func (u *uploader) kick() {
	select {
	case u.kickC <- struct{}{}:
	default:
	}
}

// add queues a registered artifact if the policy uploads it.
func (u *uploader) add(a runfmt.Artifact) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, asLast := u.st.Chooser.Choose(a)
	if !up || !u.st.Add(remote.PendingFile{Path: a.Path, Size: a.Size, SHA256: a.SHA256, Last: asLast}) {
		return
	}
	if err := u.st.Save(u.dir); err != nil {
		u.warnLocked(fmt.Errorf("record the upload of %s: %w", a.Path, err))
	}
	u.kick()
}

// next returns the first file waiting.
func (u *uploader) next() (remote.PendingFile, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.st.Pending) == 0 {
		return remote.PendingFile{}, false
	}
	return u.st.Pending[0], true
}

// settle records the end of one file's upload: acknowledged, or given
// up (the file is gone, or changed since it was registered).
func (u *uploader) settle(f remote.PendingFile, acked bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if acked {
		u.st.Done(f)
	} else {
		u.st.Drop(f)
	}
	if err := u.st.Save(u.dir); err != nil {
		u.warnLocked(fmt.Errorf("record the upload of %s: %w", f.Path, err))
	}
}

func (u *uploader) loop() {
	defer close(u.doneC)
	tick := time.NewTicker(streamEvery)
	defer tick.Stop()
	finishing, finishC := false, u.finishC
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		if retry == nil {
			if err := u.sendAll(); err == nil {
				backoff = 0
				if finishing {
					return
				}
			} else {
				if remote.Transient(err) {
					backoff = min(max(2*backoff, 500*time.Millisecond), maxBackoff)
				} else {
					backoff = maxBackoff // a person must fix it; keep trying now and then
				}
				retry = time.After(backoff)
			}
		}
		select {
		case <-u.ctx.Done():
			return
		case <-finishC:
			finishing, retry, finishC = true, nil, nil
		case <-u.kickC:
		case <-tick.C:
		case <-retry:
			retry = nil
		}
	}
}

// errNotYet says the server does not hold the run yet.
var errNotYet = errors.New("the server does not hold the run's log yet")

// sendAll uploads the files waiting, in order, until none is left or one
// fails for a reason that may pass.
func (u *uploader) sendAll() error {
	for {
		f, ok := u.next()
		if !ok {
			return nil
		}
		if u.stream.acked.Load() <= 0 {
			return errNotYet
		}
		_, err := u.c.PutFile(u.ctx, u.id, f.Path, filepath.Join(u.dir, filepath.FromSlash(f.Path)), f.SHA256)
		var se *remote.StatusError
		switch {
		case err == nil:
			u.settle(f, true)
			u.recovered()
		case errors.Is(err, fs.ErrNotExist):
			u.warn(fmt.Errorf("%s was deleted before it was uploaded", f.Path))
			u.settle(f, false)
		case errors.As(err, &se) && se.Code == http.StatusBadRequest:
			// The server refused the file as sent: it changed since it was
			// registered, or its path is not one that is uploaded.
			u.warn(fmt.Errorf("%s: %w", f.Path, err))
			u.settle(f, false)
		case errors.As(err, &se) && se.Code == http.StatusNotFound:
			return fmt.Errorf("%w (%v)", errNotYet, err) // indexed in a moment
		default:
			u.warn(fmt.Errorf("upload %s: %w", f.Path, err))
			return err
		}
	}
}

// finish waits, up to the upload timeout, for the files queued to be
// acknowledged; what is left stays queued in the run folder.
func (u *uploader) finish() {
	close(u.finishC)
	stop := time.AfterFunc(u.timeout, u.cancel)
	<-u.doneC
	stop.Stop()
	u.cancel()
	u.mu.Lock()
	n, err := len(u.st.Pending), u.last
	u.mu.Unlock()
	if n > 0 {
		fmt.Fprintf(os.Stderr, "runlog: run %s: %d files are not uploaded to %s yet (%v); they stay in the run folder, and `runlog sync %s` sends them\n",
			u.id, n, u.c.URL, err, u.id)
	}
}

func (u *uploader) warn(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.warnLocked(err)
}

func (u *uploader) warnLocked(err error) {
	u.last = err
	if !u.warned && !errors.Is(err, context.Canceled) {
		u.warned = true
		fmt.Fprintf(os.Stderr, "runlog: run %s: %v; the file stays in the run folder and its upload is tried again\n", u.id, err)
	}
}

func (u *uploader) recovered() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.warned = false
}
