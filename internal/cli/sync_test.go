package cli

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/server"
)

// syncServer serves a fresh home for runs to be sent to.
func syncServer(t *testing.T, token string) (string, *httptest.Server) {
	t.Helper()
	home := t.TempDir()
	s, err := server.New(server.Options{Home: home, Addr: "127.0.0.1:0", Token: token, Logf: t.Logf, IndexInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return home, ts
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Fatalf("%s (%d bytes) and %s (%d bytes) differ", a, len(x), b, len(y))
	}
}

func TestSync(t *testing.T) {
	home := fixtureHome(t)
	training := filepath.Join(layout.RunDir(home, "k3v9x2ab"), layout.TrainingLog)
	os.WriteFile(training, []byte("2026-01-01T00:00:00.000Z\tstdout\thello\nhalf a li"), 0o644)
	serverHome, ts := syncServer(t, "")

	out := mustRun(t, home, "sync", "--url", ts.URL)
	if !strings.Contains(out, "k3v9x2ab  run.log") || !strings.Contains(out, "2 runs,") {
		t.Errorf("sync printed:\n%s", out)
	}
	for _, id := range []string{"k3v9x2ab", "r7m2q4zz"} {
		sameFile(t, layout.RunLog(home, id), layout.RunLog(serverHome, id))
	}
	got, _ := os.ReadFile(filepath.Join(layout.RunDir(serverHome, "k3v9x2ab"), layout.TrainingLog))
	if string(got) != "2026-01-01T00:00:00.000Z\tstdout\thello\n" {
		t.Errorf("the server's training.log: %q (a line still being written stays behind)", got)
	}

	out = mustRun(t, home, "sync", "--url", ts.URL)
	if !strings.Contains(out, "2 runs, 0 bytes sent") {
		t.Errorf("a second sync sent something:\n%s", out)
	}
}

func TestSyncResumes(t *testing.T) {
	home := fixtureHome(t)
	serverHome, ts := syncServer(t, "")
	t.Setenv("RUNLOG_URL", ts.URL)
	// The server has the first half of a run: what a sync cut short sent.
	data, _ := os.ReadFile(layout.RunLog(home, "r7m2q4zz"))
	ends := recordEndsCLI(t, data)
	os.MkdirAll(layout.RunDir(serverHome, "r7m2q4zz"), 0o755)
	os.WriteFile(layout.RunLog(serverHome, "r7m2q4zz"), data[:ends[4]], 0o644)

	out := mustRun(t, home, "sync", "resumed")
	if !strings.Contains(out, "1 runs,") || !strings.Contains(out, "r7m2q4zz  run.log") {
		t.Errorf("sync printed:\n%s", out)
	}
	sameFile(t, layout.RunLog(home, "r7m2q4zz"), layout.RunLog(serverHome, "r7m2q4zz"))
	if _, err := os.Stat(layout.RunLog(serverHome, "k3v9x2ab")); err == nil {
		t.Error("a run not named was sent")
	}
}

func TestSyncErrors(t *testing.T) {
	home := fixtureHome(t)
	t.Setenv("RUNLOG_URL", "")
	if _, _, err := run(t, home, "sync"); err == nil || !strings.Contains(err.Error(), "RUNLOG_URL") {
		t.Errorf("sync without a server: %v", err)
	}
	_, ts := syncServer(t, "right")
	t.Setenv("RUNLOG_TOKEN", "wrong")
	if _, _, err := run(t, home, "sync", "--url", ts.URL); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("sync with a wrong token: %v", err)
	}
	if _, _, err := run(t, home, "sync", "--url", ts.URL, "--token", "right"); err != nil {
		t.Errorf("sync with the token: %v", err)
	}
	if _, _, err := run(t, home, "sync", "--url", ts.URL, "nosuchrun"); err == nil {
		t.Error("sync of an unknown run succeeded")
	}
}

func recordEndsCLI(t *testing.T, data []byte) []int {
	t.Helper()
	var ends []int
	off := 8
	for off+8 <= len(data) {
		n := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16 | int(data[off+3])<<24
		off += 8 + n
		ends = append(ends, off)
	}
	return ends
}
