package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
)

func TestValidStream(t *testing.T) {
	for name, want := range map[string]bool{
		"run.log": true, "run.py-12-1.log": true, "run.cli.log": true, "training.log": true, "run.a_B-9.log": true,
		"run..log": false, "run.a.b.log": false, "config.json": false, "run.log.tmp": false, "../run.log": false,
		"run.a/b.log": false, "run." + string(make([]byte, 65)) + ".log": false, "": false,
	} {
		if ValidStream(name) != want {
			t.Errorf("ValidStream(%q) = %v", name, !want)
		}
	}
}

func testLog(payload int) []byte {
	l := runfmttest.New(runfmt.Header{Format: 1, ID: "x", Time: 1}).
		Record(runfmt.TypeEvent, make([]byte, payload))
	l.Key("loss")
	return l.Bytes()
}

func TestReadBatch(t *testing.T) {
	data := testLog(MaxBatch + 100) // one record larger than a batch
	path := filepath.Join(t.TempDir(), "run.log")
	os.WriteFile(path, append(data, 1, 2, 3), 0o644) // and a torn tail
	f, _ := os.Open(path)
	defer f.Close()
	var off int64
	var batches int
	for {
		b, err := ReadBatch(f, "run.log", off, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		off += int64(len(b))
		batches++
	}
	if off != int64(len(data)) || batches < 2 {
		t.Errorf("read %d bytes in %d batches; want the %d bytes of whole records", off, batches, len(data))
	}
	if n, _ := Complete("training.log", []byte("a\nb\nc"), 0); n != 4 {
		t.Errorf("whole lines: %d bytes", n)
	}
	if _, err := Complete("run.log", []byte("NOTARUNLOG"), 0); err == nil {
		t.Error("not a run.log: no error")
	}
}

func TestAppendAnswers(t *testing.T) {
	status, body := 0, ""
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ClientHeader) != "test/1" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	defer ts.Close()
	c := &Client{URL: ts.URL + "/", Token: "tok", Agent: "test/1"}
	for _, tc := range []struct {
		status    int
		body      string
		size      int64
		conflict  bool
		transient bool
		fails     bool
	}{
		{status: 200, body: `{"size":42}`, size: 42},
		{status: 409, body: `{"size":7,"error":"gap"}`, size: 7, conflict: true, fails: true},
		{status: 503, body: `{"error":"down"}`, transient: true, fails: true},
		{status: 401, body: `{"error":"token"}`, fails: true},
		{status: 200, body: `<html>not runlog</html>`, fails: true},
	} {
		status, body = tc.status, tc.body
		size, err := c.Append(context.Background(), "r", "run.log", 0, []byte("x"))
		var ce *ConflictError
		if (err != nil) != tc.fails || errors.As(err, &ce) != tc.conflict || Transient(err) != tc.transient || (err == nil || tc.conflict) && size != tc.size {
			t.Errorf("%d %s: size %d, err %v", tc.status, tc.body, size, err)
		}
	}
}
