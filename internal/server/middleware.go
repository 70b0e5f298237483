package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/remote"
)

// tokenCookie is the cookie that /login sets for browsers, holding the
// token.
const tokenCookie = "runlog_token"

// BodyLimiter is implemented by a mounted handler that bounds some request
// bodies itself, such as uploads it streams to disk rather than reads
// whole: BodyLimit returns the largest body it accepts for r, or 0 for
// the server's MaxBody.
type BodyLimiter interface {
	BodyLimit(r *http.Request) int64
}

// secure wraps the whole server: security headers on every answer, the
// Host check of a loopback server, refusal of cross-origin writes and the
// body limit: MaxBody, or what the BodyLimiter mounted at a prefix of the
// path says (limits).
func (s *Server) secure(next http.Handler, limits map[string]BodyLimiter) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse(w, r, http.StatusForbidden, "cross-origin request refused")
	}))
	inner := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if s.loopback && !loopbackRequestHost(r.Host) {
			// A page of another site whose name was made to resolve to
			// 127.0.0.1 (DNS rebinding) sends its own name as Host.
			refuse(w, r, http.StatusForbidden, "this server answers only requests for localhost, 127.0.0.1 or [::1]")
			return
		}
		limit := s.opts.MaxBody
		for prefix, l := range limits {
			if n := l.BodyLimit(r); n > 0 && strings.HasPrefix(r.URL.Path, prefix) {
				limit = n
			}
		}
		if r.ContentLength > limit {
			refuse(w, r, http.StatusRequestEntityTooLarge, "request body over the limit")
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		inner.ServeHTTP(w, r)
	})
}

// loopbackRequestHost reports whether a Host header names a loopback host.
func loopbackRequestHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return loopbackHost(strings.ToLower(host)) || strings.HasSuffix(strings.ToLower(host), ".localhost")
}

// authorized wraps the API and the mounts: in team mode it finds the
// request's user (auth.go); with a token set, a request must carry it.
func (s *Server) authorized(next http.Handler) http.Handler {
	if s.opts.Accounts != nil {
		return s.authenticate(next)
	}
	if s.opts.Token == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.opts.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.validToken(r, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="runlog"`)
			msg := "missing or wrong token: send Authorization: Bearer <token>, or open /login?token=<token> in a browser"
			if mlflowPath(r.URL.Path) {
				msg = "missing or wrong token: set MLFLOW_TRACKING_TOKEN to the runlog server's token"
			}
			refuse(w, r, http.StatusUnauthorized, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validToken compares the request's token with the server's in constant
// time. Both are hashed first, so that neither their contents nor their
// lengths show in the time the comparison takes.
func (s *Server) validToken(r *http.Request, want [sha256.Size]byte) bool {
	got, ok := "", false
	if a := r.Header.Get("Authorization"); a != "" {
		got, ok = bearer(a)
	} else if c, err := r.Cookie(tokenCookie); err == nil {
		got, ok = c.Value, true
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1 && ok
}

// bearer returns the token of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 7235: "bearer" and "BEARER"
// are the same scheme).
func bearer(authorization string) (string, bool) {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(token, " "), true
}

// mlflowPrefixes are the paths of MLflow's APIs: tracking, artifacts and
// the ajax-api paths that MLflow's own web UI calls.
var mlflowPrefixes = []string{"/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/"}

// mlflowPath reports whether a path belongs to MLflow's APIs, whose
// clients read errors only in MLflow's form.
func mlflowPath(path string) bool {
	for _, p := range mlflowPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// refuse answers a request that the middleware stops, in the error format
// of the API that its path belongs to: MLflow's {"error_code", "message"}
// under MLflow's paths, from which its client shows the reason (given
// {"error": …} it reports an INTERNAL_ERROR), and {"error": …} everywhere
// else. It is the one place where the middleware picks the format.
func refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if !mlflowPath(r.URL.Path) {
		writeJSON(w, code, errorBody{msg})
		return
	}
	writeJSON(w, code, struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}{mlflowCode(code), msg})
}

// mlflowCode returns MLflow's error code for a status the middleware
// answers with: the code that MLflow's client maps back to the same status
// (mlflow/exceptions.py).
func mlflowCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "RESOURCE_DOES_NOT_EXIST"
	case http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	case http.StatusRequestEntityTooLarge:
		return "RESOURCE_LIMIT_EXCEEDED"
	case http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	}
	if status >= 500 {
		return "INTERNAL_ERROR"
	}
	return "BAD_REQUEST"
}

// clientOnly wraps the native API: a request that changes anything must
// name its client in X-Runlog-Client, a header that a page of another
// origin cannot send without the CORS consent this server never gives.
func clientOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if r.Header.Get(remote.ClientHeader) == "" {
				refuse(w, r, http.StatusForbidden, "a "+r.Method+" must name its client in the "+remote.ClientHeader+" header")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// login sets the token cookie for a browser that opens
// /login?token=<token>, and sends it on to the UI.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	token := r.URL.Query().Get("token")
	want := sha256.Sum256([]byte(s.opts.Token))
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		return &httpError{http.StatusUnauthorized, "wrong token"}
	}
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil || s.opts.BehindTLS,
		SameSite: http.SameSiteStrictMode, MaxAge: int((30 * 24 * time.Hour).Seconds()),
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
