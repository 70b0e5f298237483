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
	var (
		addr, token string
		open        bool
		behindTLS   bool
		maxArtifact int64
	)
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
makes the login cookie Secure. Ctrl-C stops the server gracefully.`,
		Example: `  runlog ui                                    # http://127.0.0.1:7707/
  runlog ui --addr 127.0.0.1:8080
  RUNLOG_TOKEN=$(openssl rand -hex 16) runlog serve --addr 0.0.0.0:7707 --open
  runlog ui --addr 10.0.0.5:7707 --behind-tls  # HTTPS through a proxy, with $RUNLOG_TOKEN set
  ssh -L 7707:127.0.0.1:7707 gpu-box           # reach a loopback server from your laptop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token != "" {
				fmt.Fprintf(e.stderr, "runlog: warning: --token shows in ps to every user of this machine; set %s instead\n", remote.EnvToken)
			} else {
				token = os.Getenv(remote.EnvToken)
			}
			home := e.homeDir()
			opts := server.Options{
				Home: home, Addr: addr, Token: token, BehindTLS: behindTLS, Version: version.String(), Mounts: mounts(home, e.warn, maxArtifact),
				Logf: func(format string, args ...any) { fmt.Fprintf(e.stderr, format+"\n", args...) },
			}
			if web.Built() {
				opts.UI = web.Dist()
			}
			srv, err := server.New(opts)
			if errors.Is(err, server.ErrTokenRequired) || errors.Is(err, server.ErrWeakToken) {
				if t, terr := newToken(); terr == nil {
					return fmt.Errorf("%w; for example, one made just now:\n  %s=%s runlog ui --addr %s", err, remote.EnvToken, t, addr)
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
			abs, _ := filepath.Abs(home)
			out := e.unbuffered()
			fmt.Fprintf(out, "runlog %s: serving %s at %s (Ctrl-C stops)\n", version.String(), abs, base)
			if opts.UI == nil {
				fmt.Fprintln(out, "the web UI is not built into this binary: the page at that address says how to build it")
			}
			switch {
			case open && token != "":
				fmt.Fprintf(out, "open %slogin?token=%s\n", base, url.QueryEscape(token))
			case open:
				fmt.Fprintf(out, "open %s\n", base)
			case token != "":
				fmt.Fprintf(out, "browsers log in at %slogin?token=<token>\n", base)
			}
			fmt.Fprintf(out, "clients stream here with %s=%s; MLflow clients log here with MLFLOW_TRACKING_URI=%[2]s\n", remote.EnvURL, base[:len(base)-1])
			return srv.Serve(cmd.Context(), ln)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", server.DefaultAddr, "address to listen on; anything but loopback needs --token")
	fl.StringVar(&token, "token", "", "access token every API call must carry, at least 16 characters off loopback; prefer $RUNLOG_TOKEN, which ps does not show (default $RUNLOG_TOKEN)")
	fl.BoolVar(&behindTLS, "behind-tls", false, "browsers reach the server over HTTPS through a TLS-terminating proxy: make the login cookie Secure")
	fl.BoolVar(&open, "open", false, "print the address to open in a browser, with the token to log in")
	fl.Int64Var(&maxArtifact, "max-artifact-bytes", mlflow.DefaultMaxArtifactBytes, "largest MLflow artifact upload accepted, in bytes (uploads stream to disk)")
	return cmd
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
func mounts(home string, warn func(error), maxArtifact int64) func(store.Store) map[string]http.Handler {
	return func(st store.Store) map[string]http.Handler {
		h := mlflow.NewHandler(st, home, mlflow.Options{Warn: warn, MaxArtifactBytes: maxArtifact})
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
