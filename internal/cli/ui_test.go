package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUIServesUntilCanceled(t *testing.T) {
	home := fixtureHome(t)
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb, now: time.Now}
	root := newRoot(e)
	root.SetArgs([]string{"--home", home, "serve", "--addr", "127.0.0.1:0", "--open"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "open "); ok {
				base = rest
			}
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no address printed:\n%s\n%s", out.String(), errb.String())
	}
	resp, err := http.Get(base + "api/v1/runs?q=baseline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "baseline-17m") {
		t.Errorf("runs: %s", body)
	}
	// The MLflow tracking API is served beside runlog's: the fixture's
	// project is an MLflow experiment.
	resp, err = http.Get(base + "api/2.0/mlflow/experiments/get-by-name?experiment_name=tinystories")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"tinystories"`) {
		t.Errorf("mlflow experiments/get-by-name: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ui after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ui did not stop")
	}
	if !strings.Contains(out.String(), "RUNLOG_URL=http://127.0.0.1:") || !strings.Contains(out.String(), "MLFLOW_TRACKING_URI=http://127.0.0.1:") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestUIRefusesOpenAddressWithoutToken(t *testing.T) {
	t.Setenv("RUNLOG_TOKEN", "")
	_, _, err := run(t, fixtureHome(t), "ui", "--addr", "0.0.0.0:0")
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("ui on every interface without a token: %v", err)
	}
}
