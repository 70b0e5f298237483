package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/mlflow"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/version"
	"github.com/runlog/runlog/web"
)

func newUI(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:     "ui",
		Aliases: []string{"serve"},
		Short:   "Serve the web UI and the HTTP API, and receive runs streamed by clients on other machines",
		Long: `Serve the home over HTTP: the web UI, the JSON API under /api/v1
(docs/api/openapi.yaml) and remote ingest, through which clients on other
machines stream their runs here (RUNLOG_URL; see docs/server.md). New data in
the run folders is indexed every second and shown live.

The server listens on 127.0.0.1:7707 — this machine only — unless --addr says
otherwise. Listening on any other address needs an access token of at least
16 characters in $RUNLOG_TOKEN (--token works too, but shows in ps to every
user of the machine), which every API call must then carry; browsers log in
once with /login?token=<token>. Behind a TLS-terminating proxy, --behind-tls
makes the login cookie Secure. Ctrl-C stops the server gracefully.

For a team's server — PostgreSQL and S3, any number of replicas — see
runlog server.`,
		Example: `  runlog ui                                    # http://127.0.0.1:7707/
  runlog ui --addr 127.0.0.1:8080
  RUNLOG_TOKEN=$(openssl rand -hex 16) runlog serve --addr 0.0.0.0:7707 --open
  runlog ui --addr 10.0.0.5:7707 --behind-tls  # HTTPS through a proxy, with $RUNLOG_TOKEN set
  ssh -L 7707:127.0.0.1:7707 gpu-box           # reach a loopback server from your laptop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir()
			abs, _ := filepath.Abs(home)
			return f.serve(e, cmd, server.Options{Home: home, Mounts: mounts(home, e.warn, mlflow.Options{MaxArtifactBytes: f.maxArtifact})}, abs)
		},
	}
	f.register(cmd)
	return cmd
}

// serveFlags are the flags of runlog ui and runlog server.
type serveFlags struct {
	addr, token string
	open        bool
	behindTLS   bool
	maxArtifact int64
	// accounts: team mode, with users, keys and projects (user.go);
	// store is the PostgreSQL database that holds them on runlog server.
	accounts bool
	store    string
}

func (f *serveFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", server.DefaultAddr, "address to listen on; anything but loopback needs --token")
	fl.StringVar(&f.token, "token", "", "access token every API call must carry, at least 16 characters off loopback; prefer $RUNLOG_TOKEN, which ps does not show (default $RUNLOG_TOKEN)")
	fl.BoolVar(&f.behindTLS, "behind-tls", false, "browsers reach the server over HTTPS through a TLS-terminating proxy: make the login cookie Secure")
	fl.BoolVar(&f.open, "open", false, "print the address to open in a browser, with the token to log in")
	fl.Int64Var(&f.maxArtifact, "max-artifact-bytes", mlflow.DefaultMaxArtifactBytes, "largest MLflow artifact upload accepted, in bytes (uploads stream to disk)")
	fl.BoolVar(&f.accounts, "accounts", false, "users sign in: API keys, projects with roles, sessions and an audit log instead of one token (runlog user/key/project; the first start makes the admin, with $"+EnvAdminPassword+" or a password it prints once)")
}

// serve runs the server opts describes (its home, store and mounts set by
// the command) with the flags' address, token and cookie settings until
// the command's context ends. what is what the server serves, for the
// first line it prints.
func (f *serveFlags) serve(e *env, cmd *cobra.Command, opts server.Options, what string) error {
	addr, token := f.addr, f.token
	if token != "" {
		fmt.Fprintf(e.stderr, "runlog: warning: --token shows in ps to every user of this machine; set %s instead\n", remote.EnvToken)
	} else {
		token = os.Getenv(remote.EnvToken)
	}
	opts.Addr, opts.Token, opts.BehindTLS, opts.Version = addr, token, f.behindTLS, version.String()
	opts.Logf = func(format string, args ...any) { fmt.Fprintf(e.stderr, format+"\n", args...) }
	if f.accounts {
		acc, done, err := serveAccounts(cmd.Context(), e, opts.Home, f.store)
		if err != nil {
			return err
		}
		defer done()
		opts.Accounts, opts.Token, token = acc, "", ""
	}
	if web.Built() {
		opts.UI = web.Dist()
	}
	srv, err := server.New(opts)
	if errors.Is(err, server.ErrTokenRequired) || errors.Is(err, server.ErrWeakToken) {
		if t, terr := newToken(); terr == nil {
			return fmt.Errorf("%w; for example, one made just now:\n  %s=%s runlog %s --addr %s", err, remote.EnvToken, t, cmd.Name(), addr)
		}
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another runlog ui running? pick another port with --addr)", addr, err)
	}
	base := baseURL(ln.Addr(), addr)
	out := e.unbuffered()
	fmt.Fprintf(out, "runlog %s: serving %s at %s (Ctrl-C stops)\n", version.String(), what, base)
	if opts.UI == nil {
		fmt.Fprintln(out, "the web UI is not built into this binary: the page at that address says how to build it")
	}
	switch {
	case f.open && token != "":
		fmt.Fprintf(out, "open %slogin?token=%s\n", base, url.QueryEscape(token))
	case f.open:
		fmt.Fprintf(out, "open %s\n", base)
	case f.accounts:
		fmt.Fprintf(out, "users sign in at %s; clients send an API key (runlog key add) as %s\n", base, remote.EnvToken)
	case token != "":
		fmt.Fprintf(out, "browsers log in at %slogin?token=<token>\n", base)
	}
	fmt.Fprintf(out, "clients stream here with %s=%s; MLflow clients log here with MLFLOW_TRACKING_URI=%[2]s\n", remote.EnvURL, base[:len(base)-1])
	return srv.Serve(cmd.Context(), ln)
}

// newToken returns a random token of 32 hex digits, as
// `openssl rand -hex 16` makes.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// mounts returns the handlers served beside the native API, by path
// prefix, behind the same token and checks: MLflow's tracking and
// artifacts APIs, so the unmodified mlflow client logs to runlog.
func mounts(home string, warn func(error), opt mlflow.Options) func(store.Store) map[string]http.Handler {
	return func(st store.Store) map[string]http.Handler {
		opt.Warn = warn
		h := mlflow.NewHandler(st, home, opt)
		return map[string]http.Handler{mlflow.TrackingPrefix: h, mlflow.ArtifactsPrefix: h}
	}
}

// teamMounts returns the handlers a team server's replica serves beside
// the native API: MLflow's APIs, which keep what they store where the
// replica gives them (server.MLflowTeam), in PostgreSQL and the bucket.
func teamMounts(warn func(error), opt mlflow.Options) func(store.Store, *server.MLflowTeam) map[string]http.Handler {
	return func(st store.Store, team *server.MLflowTeam) map[string]http.Handler {
		opt.Warn, opt.Backend = warn, team
		h := mlflow.NewHandler(st, "", opt)
		return map[string]http.Handler{mlflow.TrackingPrefix: h, mlflow.ArtifactsPrefix: h}
	}
}

// baseURL returns the URL at which the listener is reached, ending in /.
// An address on every interface is shown with the machine's name.
func baseURL(a net.Addr, asked string) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + asked + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil {
			host = name
		}
	}
	if h, _, err := net.SplitHostPort(asked); err == nil && h == "localhost" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
