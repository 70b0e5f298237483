package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

// limitedMount reads whole bodies, and bounds those of its PUTs itself.
type limitedMount struct{ limit int64 }

func (m limitedMount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	}
}

func (m limitedMount) BodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPut {
		return m.limit
	}
	return 0
}

// TestBodyLimiter: a mount that is a BodyLimiter sets the limit of its own
// requests; every other request keeps MaxBody.
func TestBodyLimiter(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{MaxBody: 1024, Mounts: func(store.Store) map[string]http.Handler {
		return map[string]http.Handler{"/big/": limitedMount{8192}, "/small/": limitedMount{}.plain()}
	}})
	tests := []struct {
		name    string
		method  string
		path    string
		size    int
		chunked bool
		want    int
	}{
		{"over MaxBody, under the mount's limit", "PUT", "/big/x", 4096, false, 200},
		{"the same, chunked", "PUT", "/big/x", 4096, true, 200},
		{"over the mount's limit", "PUT", "/big/x", 10000, false, 413},
		{"over the mount's limit, chunked", "PUT", "/big/x", 10000, true, 413},
		{"a request the mount leaves to MaxBody", "POST", "/big/x", 4096, false, 413},
		{"a mount that is no BodyLimiter", "PUT", "/small/x", 4096, false, 413},
		{"the native API", "POST", "/api/v1/ingest/abc/run.log?offset=0", 4096, false, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(make([]byte, tt.size))
			if tt.chunked {
				body = io.MultiReader(body)
			}
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, body)
			req.Header.Set("X-Runlog-Client", "test")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// plain returns the mount as a handler that is no BodyLimiter.
func (m limitedMount) plain() http.Handler { return http.HandlerFunc(m.ServeHTTP) }
