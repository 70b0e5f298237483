package mlflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	runlogserver "github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/server/nginxtest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// TestMain stops the PostgreSQL and S3 servers the team tests started.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	weedtest.StopShared()
	os.Exit(code)
}

// serveTeam starts a replica of a team server on the database dsn and the
// bucket files, serving this package's handler as `runlog server` does,
// until t ends; it returns its URL.
func serveTeam(t testing.TB, dsn string, files *objstore.S3) string {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := runlogserver.New(runlogserver.Options{
		Home: t.TempDir(), Addr: "127.0.0.1:0", Team: db, Files: files, Logf: t.Logf,
		TeamMounts: func(st store.Store, team *runlogserver.MLflowTeam) map[string]http.Handler {
			h := NewHandler(st, "", Options{Backend: team, Warn: func(err error) { t.Log(err) }})
			return map[string]http.Handler{TrackingPrefix: h, ArtifactsPrefix: h}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts.URL
}

// TestTeamRealClient drives a team server's MLflow API with the unmodified
// MLflow client: two replicas on one PostgreSQL database and one bucket,
// nginx in front sending consecutive calls to either. The client logs
// params, metrics, a batch, tags and artifacts through nginx and reads all
// of it back through the second replica alone
// (testdata/mlflow_team_client_test.py); this test then checks the bucket
// and the store. It needs RUNLOG_MLFLOW_PYTHON, as TestRealClient does, a
// PostgreSQL (pgtest), an S3 server (weedtest) and nginx.
func TestTeamRealClient(t *testing.T) {
	python := clientPython(t)
	nginx := nginxtest.Bin()
	if nginx == "" {
		t.Skip("nginx is not installed (apt-get install nginx; scripts/test.sh does)")
	}
	endpoint := weedtest.Endpoint(t)
	var b [4]byte
	rand.Read(b[:])
	files, err := objstore.New(objstore.Location{Bucket: "runlog-test", Prefix: "mlflow-team-" + hex.EncodeToString(b[:]),
		Endpoint: endpoint, Region: "us-east-1"}, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := files.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	dsn := pgtest.DB(t)
	first, second := serveTeam(t, dsn, files), serveTeam(t, dsn, files)
	px, err := nginxtest.Start(nginx, first, second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Stop)

	var res struct{ Run, SHA256 string }
	runScript(t, python, "mlflow_team_client_test.py", px.URL, &res, "SECOND_URI="+second)

	// The checkpoint is in the bucket, by its sha256; the store knows it.
	entries, err := files.List(ctx, res.Run)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(entries, objstore.Entry{Path: "artifacts/checkpoints/model.ckpt", Size: 3 << 20, SHA256: res.SHA256}) {
		t.Errorf("the bucket's manifest of run %s: %+v", res.Run, entries)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.Run(ctx, res.Run)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "finished" || run.Project != "team-client-test" || run.Path != "" {
		t.Errorf("run in the store: status %q project %q path %q", run.Status, run.Project, run.Path)
	}
	pts, err := db.Points(ctx, res.Run, "batch_metric", store.PointsOptions{})
	if err != nil || pts.Len() != 200 {
		t.Errorf("batch_metric: %d points, %v; want 200", pts.Len(), err)
	}
	arts, err := db.Artifacts(ctx, res.Run)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(arts, func(a store.Artifact) bool {
		return a.Path == "artifacts/checkpoints/model.ckpt" && a.SHA256 == res.SHA256
	}) {
		t.Errorf("the run's artifacts in the store: %+v", arts)
	}
}
