// Package server is runlog's HTTP server: the JSON API under /api/v1
// (runs, series downsampled on the server, files, logs, comparisons,
// server-sent events and remote ingest), the web UI, and whatever other
// handlers are mounted beside them (the MLflow tracking API).
//
// The server's home is an ordinary runlog home. Remote clients append to
// the run logs in its run folders; a periodic indexer brings the store up
// to date with them, as every command does, and tells live views which
// runs changed. docs/api/openapi.yaml is the API's contract;
// docs/server.md says how to run it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/accounts"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
	"golang.org/x/sync/singleflight"
)

// DefaultAddr is where the server listens unless told otherwise: loopback
// only, on a port that none of TensorBoard (6006), MLflow (5000), Gradio
// (7860) or Aim (43800) uses.
const DefaultAddr = "127.0.0.1:7707"

// ErrTokenRequired is returned by New for a server that would listen
// beyond the loopback interface without an access token.
var ErrTokenRequired = errors.New("an access token is required to listen on an address other than loopback")

// ErrWeakToken is returned by New for a server that would listen beyond
// the loopback interface with a token shorter than MinTokenLen.
var ErrWeakToken = errors.New("the access token is too short to listen on an address other than loopback")

// MinTokenLen is the fewest characters of a token off loopback: 16 hex
// digits, 64 random bits, are far beyond guessing over a network.
const MinTokenLen = 16

// tokenAdvice says how to make a token and how to pass it.
const tokenAdvice = "make one with `openssl rand -hex 16` and pass it in $" + remote.EnvToken + " (or --token)"

// Options configure a Server.
type Options struct {
	// Home is the runlog home served; it is created if missing.
	Home string
	// Addr is the address the server listens on; "" means DefaultAddr.
	// On a loopback address, requests must name a loopback host, which
	// defeats DNS rebinding; on any other address a Token is required.
	Addr string
	// Token, when set, is required by every API call and mount: as
	// "Authorization: Bearer <token>" or the cookie that /login sets.
	Token string
	// BehindTLS says that browsers reach the server over HTTPS through a
	// TLS-terminating proxy: the login cookie is then Secure, so that a
	// browser never sends it over plain HTTP. (Served over TLS directly,
	// the cookie is Secure anyway.)
	BehindTLS bool
	// Accounts, when set, is team mode: every request is made by a user
	// of these accounts, with what its roles allow (auth.go), and Token is
	// not used. Nil keeps the one shared token, or none on loopback.
	Accounts *accounts.Accounts
	// Version is reported by /api/v1/health.
	Version string
	// Mounts returns further handlers by path prefix, such as
	// "/api/2.0/mlflow/", given the server's store: they are served behind
	// the same token, host check, body limit and cross-origin checks as the
	// API. A prefix ends with "/" and receives every path under it.
	Mounts func(store.Store) map[string]http.Handler
	// TeamMounts, on a team server, is called instead of Mounts: it is
	// also given where the MLflow API keeps what it stores there
	// (MLflowTeam), for its handler's Backend.
	TeamMounts func(store.Store, *MLflowTeam) map[string]http.Handler
	// UI is the built web UI (index.html and its assets); nil serves a page
	// that says how to build it.
	UI fs.FS
	// IndexInterval is how often the run folders are indexed; 0 means 1 s.
	IndexInterval time.Duration
	// MaxBody is the largest request body accepted, in bytes; 0 means
	// remote.MaxBody (32 MiB), which an ingest batch always fits in.
	MaxBody int64
	// Logf receives the server's messages; nil means the standard logger.
	Logf func(format string, args ...any)
	// Now tells the time (crashed runs are told from running ones by it);
	// nil means time.Now.
	Now func() time.Time
	// Files, when set, is the bucket that holds the files of runs
	// (checkpoints, artifacts, media) on a team server: file requests
	// read and write it instead of the home's run folders (runfiles.go).
	Files *objstore.S3
	// Team, when set, makes the server a replica of a team server
	// (docs/team-server.md): it serves Team, the store all replicas share,
	// instead of the home's; ingest appends to the logs Team holds and
	// indexes them before it acknowledges; the home's run folders are
	// neither indexed nor written. The server closes Team.
	Team TeamStore
}

// servedStore is the store a server reads: the home's SQLite store, or a
// team server's.
type servedStore interface {
	store.Store
	ReadOnly() bool
}

// Server serves one runlog home. Create it with New, serve Handler (or call
// Serve) and Close it when done.
type Server struct {
	opts     Options
	home     string
	db       servedStore
	team     TeamStore // set on a team server's replica
	loopback bool      // Addr is a loopback address: check Host headers
	handler  http.Handler

	hub    *hub
	gens   generations
	series *seriesCache
	extras *extrasCache
	// details shares the run detail being built among the requests that
	// ask for the same page of the same run at once.
	details      singleflight.Group
	detailBodies *answerCache
	seriesBodies *answerCache
	groupBodies  *answerCache
	streams      streamLocks
	// ingestSlots bounds the ingest requests whose bodies are in memory.
	ingestSlots chan struct{}

	stop      context.CancelFunc
	done      chan struct{}
	runs      int   // runs in the store after the last indexing; guarded by mu
	onDisk    int   // run folders found by the last indexing; guarded by mu
	indexErr  error // why the last indexing stopped, nil if it did not; guarded by mu
	mu        sync.Mutex
	closeOnce sync.Once
	// indexing serializes index: the periodic indexer and the requests
	// that change a run folder and index it at once.
	indexing sync.Mutex
	warns    *warnings // indexing's, shared by the indexer and requests

	// indexStore is the store that indexing writes, and appendFile what
	// ingest appends with: s.db and appendSync, or in tests ones that fail
	// as a full disk does.
	indexStore store.Store
	appendFile func(dir, name string, data []byte) error

	// files holds the files of runs that requests read and write: the
	// home's run folders, or Options.Files. fileSlots bounds the uploads
	// received at once.
	files     runFiles
	fileSlots chan struct{}
}

// New opens the store of the home, indexes it and starts the periodic
// indexer.
func New(opts Options) (*Server, error) {
	if opts.Home == "" {
		return nil, errors.New("server: no home")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	loopback := IsLoopback(opts.Addr)
	if !loopback && opts.Token == "" && opts.Accounts == nil {
		return nil, fmt.Errorf("%w (%s): %s", ErrTokenRequired, opts.Addr, tokenAdvice)
	}
	if n := utf8.RuneCountInString(opts.Token); !loopback && n < MinTokenLen && opts.Accounts == nil {
		return nil, fmt.Errorf("%w (%s): it has %d characters, at least %d are needed: %s", ErrWeakToken, opts.Addr, n, MinTokenLen, tokenAdvice)
	}
	if opts.IndexInterval <= 0 {
		opts.IndexInterval = time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = remote.MaxBody
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(opts.Home, layout.RunsDir), 0o755); err != nil {
		return nil, fmt.Errorf("create home: %w", err)
	}
	if opts.Team != nil {
		return newTeam(opts, loopback)
	}
	db, err := sqlite.Open(layout.Store(opts.Home))
	if err != nil {
		return nil, err
	}
	if db.ReadOnly() {
		opts.Logf("runlog: %s is read-only: serving what was indexed before; remote ingest is refused", db.Path())
	}
	s := newServer(opts, db, loopback)
	ctx, w := s.start()
	// A full disk does not keep the server from serving what is indexed:
	// /api/v1/health says why the rest is not.
	if _, err := s.index(ctx, w); err != nil && !db.ReadOnly() {
		if !diskFull(err) {
			s.stop()
			db.Close()
			return nil, err
		}
		w.warn(err)
	}
	go s.indexLoop(ctx, w)
	return s, nil
}

// newServer returns a server of the store db, not started: New's for a
// home, newTeam's for a team server's replica.
func newServer(opts Options, db servedStore, loopback bool) *Server {
	s := &Server{
		opts: opts, home: opts.Home, db: db, loopback: loopback,
		hub: newHub(), series: newSeriesCache(defaultCacheBytes), extras: newExtrasCache(), detailBodies: newAnswerCache(answerCacheBytes), seriesBodies: newAnswerCache(answerCacheBytes), groupBodies: newAnswerCache(answerCacheBytes),
		done: make(chan struct{}), ingestSlots: make(chan struct{}, maxIngests),
		indexStore: db, appendFile: appendSync,
		files: folderFiles{}, fileSlots: make(chan struct{}, maxUploads),
	}
	if opts.Files != nil {
		s.files = bucketFiles{opts.Files}
	}
	return s
}

// start makes the handler and the context of the background work.
func (s *Server) start() (context.Context, *warnings) {
	s.handler = s.routes()
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.warns = newWarnings(s.opts.Logf)
	return ctx, s.warns
}

// newTeam returns a replica of a team server (Options.Team).
func newTeam(opts Options, loopback bool) (*Server, error) {
	if opts.Files != nil {
		// Before anything reads a log: some of it may be sealed already.
		opts.Team.SetLogObjects(opts.Files)
	}
	s := newServer(opts, teamStore{opts.Team}, loopback)
	s.team = opts.Team
	ctx, _ := s.start()
	go s.teamLoop(ctx)
	return s, nil
}

// Handler returns the server's handler: API, mounts and UI.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the indexer, ends live event streams and closes the store.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.hub.close()
		err = s.db.Close()
	})
	return err
}

// maxIngests is how many ingest requests are received at once; more wait.
const maxIngests = 8

// shutdownGrace is how long Serve waits for requests in flight to finish
// once its context ends.
const shutdownGrace = 5 * time.Second

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections, ends event streams and waits up to 5 s
// for requests in flight. It returns nil after a graceful shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(logWriter(s.opts.Logf), "", 0),
	}
	srv.RegisterOnShutdown(s.hub.close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		err = nil
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// IsLoopback reports whether addr (host:port) listens only on the loopback
// interface: 127.0.0.0/8, ::1 or localhost. ":7707" and "0.0.0.0:7707"
// listen on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return loopbackHost(host)
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logWriter adapts Logf to the io.Writer that http.Server logs to.
type logWriter func(format string, args ...any)

func (l logWriter) Write(p []byte) (int, error) {
	l("runlog: http: %s", string(p))
	return len(p), nil
}
