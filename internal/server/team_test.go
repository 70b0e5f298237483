package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/server/nginxtest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// startRunlog starts the runlog command (this test binary, see TestMain)
// with args and returns it once it printed the address it serves at.
func startRunlog(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RUNLOG_SERVER_TEST_MAIN=1", "RUNLOG_TOKEN=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if _, u, ok := strings.Cut(lines.Text(), " at http://"); ok {
			u = "http://" + u
			p := &serverProcess{cmd: cmd, url: strings.TrimSuffix(strings.Fields(u)[0], "/")}
			go io.Copy(io.Discard, out)
			return p
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("runlog %s printed no address: %s", args[0], stderr.String())
	return nil
}

// teamClient is a training program streaming a run through the proxy.
type teamClient struct {
	run   *runlog.Run
	steps int64
}

// TestTeamReplicasBehindNginx runs a team server as a lab would: a
// PostgreSQL cluster, two `runlog server` replicas started at once on the
// empty database, nginx in front of them. Four Go clients stream runs
// through nginx while one replica is killed (SIGKILL) and then PostgreSQL
// is restarted; meanwhile the surviving replica answers 503 with a clear
// message. Afterwards every run's log in PostgreSQL is the client's local
// run.log byte for byte, every point is in the store exactly once, runlog
// pull rebuilds the run folder byte for byte, and a browser's event stream
// on one replica heard of a run ingested through the other.
func TestTeamReplicasBehindNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, nginx and server processes")
	}
	nginx := nginxtest.Bin()
	if nginx == "" {
		t.Skip("nginx is not installed (apt-get install nginx; scripts/test.sh does)")
	}
	if pgtest.Bin() == "" {
		t.Skip("PostgreSQL is not installed")
	}
	cluster, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Remove()
	ctx := context.Background()
	dsn, err := pgtest.CreateDatabase(ctx, cluster.DSN("postgres"), "team")
	if err != nil {
		t.Fatal(err)
	}

	// Two replicas start at once on the empty database: one migrates, the
	// other waits for the lock and finds the schema done.
	reps := make([]*serverProcess, 2)
	var wg sync.WaitGroup
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i] = startRunlog(t, "server", "--store", dsn, "--addr", "127.0.0.1:0")
		}()
	}
	wg.Wait()
	for _, r := range reps {
		defer func() { r.cmd.Process.Kill(); r.cmd.Wait() }()
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied, distinct int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != postgres.Version() || distinct != applied {
		t.Fatalf("schema_migrations has %d rows (%d versions), want each of %d once", applied, distinct, postgres.Version())
	}
	px, err := nginxtest.Start(nginx, reps[0].url, reps[1].url)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Stop()
	proxy := px.URL

	// Live updates: a browser on replica 1 hears of a run streamed to
	// replica 0.
	events := subscribe(t, reps[1].url)
	live, err := runlog.Init(runlog.Options{Home: t.TempDir(), URL: reps[0].url, Name: "live", DisableGit: true, StreamTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	live.LogStep(0, map[string]float64{"loss": 1})
	if err := live.Finish(0); err != nil {
		t.Fatal(err)
	}
	if !events.waitNamed(live.ID(), 20*time.Second) {
		t.Fatalf("replica 1's event stream never named run %s, ingested through replica 0", live.ID())
	}

	// Four clients stream through nginx.
	const clients = 4
	cs := make([]*teamClient, clients)
	stop := make(chan struct{})
	var running sync.WaitGroup
	for i := range cs {
		run, err := runlog.Init(runlog.Options{Home: t.TempDir(), URL: proxy, Name: fmt.Sprintf("client-%d", i), DisableGit: true,
			FlushInterval: 20 * time.Millisecond, StreamTimeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		c := &teamClient{run: run}
		cs[i] = c
		running.Add(1)
		go func() {
			defer running.Done()
			for ; ; c.steps++ {
				select {
				case <-stop:
					return
				default:
				}
				s := float64(c.steps)
				if err := run.LogStep(c.steps, map[string]float64{"train_loss": 1 / (1 + s), "acc": math.Sqrt(s), "lr": 0.1}); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(3 * time.Second)
	// kill -9 of replica 0: the clients continue through replica 1.
	reps[0].cmd.Process.Signal(syscall.SIGKILL)
	reps[0].cmd.Wait()
	time.Sleep(3 * time.Second)
	// PostgreSQL restarts: replica 1 answers 503 meanwhile.
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	status, body := post(t, reps[1].url+"/api/v1/ingest/down-run/run.log?offset=0", "", "X-Runlog-Client", "test")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "database cannot be reached") {
		t.Errorf("with PostgreSQL stopped, ingest answered %d %s; want 503 saying the database cannot be reached", status, body)
	}
	time.Sleep(2 * time.Second)
	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	close(stop)
	running.Wait()
	for _, c := range cs {
		if err := c.run.Finish(0); err != nil {
			t.Fatal(err)
		}
	}

	// Every acknowledged byte and point is in PostgreSQL, once.
	for i, c := range cs {
		id := c.run.ID()
		local, err := os.ReadFile(filepath.Join(c.run.Dir(), "run.log"))
		if err != nil {
			t.Fatal(err)
		}
		held, err := io.ReadAll(db.OpenLog(ctx, id, "run.log", 0))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(local, held) {
			t.Errorf("client %d: PostgreSQL holds %d bytes of run.log, the client %d, or they differ", i, len(held), len(local))
			continue
		}
		for _, key := range []string{"train_loss", "acc", "lr"} {
			pts, err := db.Points(ctx, id, key, store.PointsOptions{Superseded: true})
			if err != nil {
				t.Fatal(err)
			}
			if int64(pts.Len()) != c.steps {
				t.Errorf("client %d %s: %d points in the store, %d logged", i, key, pts.Len(), c.steps)
				continue
			}
			for j, s := range pts.Steps {
				if s != int64(j) {
					t.Errorf("client %d %s: point %d has step %d: a point twice or missing", i, key, j, s)
					break
				}
			}
		}
		t.Logf("client %d: %d steps, %d bytes", i, c.steps, len(local))
	}
	if c := cs[0]; c.steps < 100 {
		t.Errorf("client 0 logged only %d steps", c.steps)
	}

	// runlog pull rebuilds a run folder byte for byte.
	dest := filepath.Join(t.TempDir(), "pulled")
	pull := exec.Command(os.Args[0], "pull", cs[1].run.ID(), "--store", dsn, "--to", dest)
	pull.Env = append(os.Environ(), "RUNLOG_SERVER_TEST_MAIN=1")
	if out, err := pull.CombinedOutput(); err != nil {
		t.Fatalf("runlog pull: %v\n%s", err, out)
	}
	local, _ := os.ReadFile(filepath.Join(cs[1].run.Dir(), "run.log"))
	pulled, err := os.ReadFile(filepath.Join(dest, "run.log"))
	if err != nil || !bytes.Equal(local, pulled) {
		t.Errorf("pulled run.log (%d bytes, %v) differs from the client's (%d bytes)", len(pulled), err, len(local))
	}

	// The API through the proxy lists the runs from PostgreSQL.
	resp, err := http.Get(proxy + "/api/v1/runs")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range cs {
		if !bytes.Contains(list, []byte(c.run.ID())) {
			t.Errorf("GET /api/v1/runs through the proxy does not list %s: %s", c.run.ID(), list)
		}
	}

	// The MLflow API reads the team store, and writes to it: a run it
	// creates through one replica is read through the other.
	if status, body := post(t, proxy+"/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"]}`, "Content-Type", "application/json"); status != http.StatusOK || !strings.Contains(body, cs[0].run.ID()) {
		t.Errorf("MLflow runs/search through the proxy: %d %s; want the team's runs", status, body)
	}
	status, body = post(t, proxy+"/api/2.0/mlflow/runs/create", `{"experiment_id": "0", "run_name": "via-mlflow"}`, "Content-Type", "application/json")
	var created struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if json.Unmarshal([]byte(body), &created); status != http.StatusOK || created.Run.Info.RunID == "" {
		t.Fatalf("MLflow runs/create on a team server: %d %s", status, body)
	}
	if got := get(t, reps[1].url+"/api/2.0/mlflow/runs/get?run_id="+created.Run.Info.RunID); !strings.Contains(got, "via-mlflow") {
		t.Errorf("MLflow runs/get on the surviving replica: %s", got)
	}
}

// post posts body to url with the headers given and returns the answer's
// status and body.
func post(t *testing.T, url, body string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventStream collects the runs a server's event stream named.
type eventStream struct {
	mu    sync.Mutex
	names map[string]bool
}

func subscribe(t *testing.T, base string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	es := &eventStream{names: map[string]bool{}}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer resp.Body.Close()
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			data, ok := strings.CutPrefix(lines.Text(), "data: ")
			var ev struct{ Changed []string }
			if !ok || json.Unmarshal([]byte(data), &ev) != nil {
				continue
			}
			es.mu.Lock()
			for _, id := range ev.Changed {
				es.names[id] = true
			}
			es.mu.Unlock()
		}
	}()
	return es
}

// waitNamed reports whether the stream names run id within d.
func (es *eventStream) waitNamed(id string, d time.Duration) bool {
	for start := time.Now(); time.Since(start) < d; time.Sleep(50 * time.Millisecond) {
		es.mu.Lock()
		ok := es.names[id]
		es.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}
