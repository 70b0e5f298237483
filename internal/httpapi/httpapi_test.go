package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandle(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		h        Handler
		wantErr  error
		wantCode int
		wantBody string
	}{
		{"answer", func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("made"))
			return nil
		}, nil, http.StatusCreated, "made"},
		{"error", func(w http.ResponseWriter, r *http.Request) error { return errBoom }, errBoom, http.StatusTeapot, "boom"},
		{"wrapped error reaches fail as returned", func(w http.ResponseWriter, r *http.Request) error {
			return &wrapped{errBoom}
		}, errBoom, http.StatusTeapot, "wrapped: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			fail := func(w http.ResponseWriter, r *http.Request, err error) {
				got = err
				w.WriteHeader(http.StatusTeapot)
				w.Write([]byte(err.Error()))
			}
			rec := httptest.NewRecorder()
			Handle(tt.h, fail).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			if !errors.Is(got, tt.wantErr) || (tt.wantErr == nil) != (got == nil) {
				t.Errorf("fail got %v, want %v", got, tt.wantErr)
			}
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
}

type wrapped struct{ err error }

func (e *wrapped) Error() string { return "wrapped: " + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }
