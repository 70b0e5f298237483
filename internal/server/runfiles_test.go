package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomFile(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

type putAnswer struct {
	Path         string `json:"path"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	Deduplicated bool   `json:"deduplicated"`
	Error        string `json:"error"`
}

// waitingClient waits for "100 Continue" longer than these tests' bucket
// retries (2 s) before the server refuses an upload it has not read:
// http.DefaultClient sends the body after one second, and a server that
// refuses it then may cut the connection before the client reads why.
var waitingClient = &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}

// putFileReq uploads body as the file name of run, stating sum, as the
// clients do (Expect: 100-continue).
func putFileReq(t *testing.T, base, run, name string, body io.Reader, size int64, sum string) (int, putAnswer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, base+"/api/v1/runs/"+run+"/files/"+name, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("X-Runlog-Client", "test/1")
	req.Header.Set("Expect", "100-continue")
	if sum != "" {
		req.Header.Set(SHA256Header, sum)
	}
	resp, err := waitingClient.Do(req)
	if err != nil {
		return 0, putAnswer{Error: err.Error()}
	}
	defer resp.Body.Close()
	var ans putAnswer
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatalf("PUT %s: %d %q is not JSON", name, resp.StatusCode, data)
	}
	return resp.StatusCode, ans
}

// knownWithoutBody uploads again the content of artifacts/model.txt, as a client
// that waits for "100 Continue" as long as it takes and never sends the
// body: the server must answer "deduplicated" without it.
func knownWithoutBody(t *testing.T, base string, content []byte) {
	t.Helper()
	body, never := io.Pipe()
	defer never.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/api/v1/runs/"+fixtureBasic+"/files/artifacts/model.txt", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(content))
	req.Header.Set("X-Runlog-Client", "test/1")
	req.Header.Set("Expect", "100-continue")
	req.Header.Set(SHA256Header, sha256Hex(content))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Hour}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("PUT of content the server has, body held back: %v (the server waited for the body)", err)
	}
	defer resp.Body.Close()
	var ans putAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 || !ans.Deduplicated {
		t.Errorf("PUT of content the server has: %d %+v (%v), want 200 deduplicated", resp.StatusCode, ans, err)
	}
}

func getFileBody(t *testing.T, base, run, name string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/runs/" + run + "/files/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", name, err)
	}
	return resp.StatusCode, data
}

// uploadCases are the uploads both kinds of file store answer, alike but
// for one: a bucket holds each content once (byContent), a run folder
// holds each path's bytes.
func uploadCases(t *testing.T, base string, byContent bool) {
	small := []byte("weights of a tiny model\n")
	big := randomFile(12<<20 + 333) // three parts of 5 MiB in a bucket
	for _, c := range []struct {
		name, path string
		body       []byte
		sum        string
		status     int
		dedup      bool
		error      string
	}{
		{name: "small file", path: "artifacts/model.txt", body: small, sum: sha256Hex(small), status: 200},
		{name: "the same again is deduplicated", path: "artifacts/model.txt", body: small, sum: sha256Hex(small), status: 200, dedup: true},
		{name: "large file in parts", path: "checkpoints/step-100.pt", body: big, sum: sha256Hex(big), status: 200},
		{name: "the same content under another name", path: "checkpoints/best.pt", body: big, sum: sha256Hex(big), status: 200, dedup: byContent},
		{name: "a body that is not its sha256", path: "checkpoints/bad.pt", body: big, sum: sha256Hex(small), status: 400, error: "sha256"},
		{name: "a small body that is not its sha256", path: "artifacts/bad.txt", body: []byte("other"), sum: sha256Hex(small), status: 400, error: "sha256"},
		{name: "no sha256", path: "artifacts/x.txt", body: small, status: 400, error: SHA256Header},
		{name: "outside the upload folders", path: "run.log", body: small, sum: sha256Hex(small), status: 400, error: "artifacts/, checkpoints/, media/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, ans := putFileReq(t, base, fixtureBasic, c.path, bytes.NewReader(c.body), int64(len(c.body)), c.sum)
			if status != c.status || !strings.Contains(ans.Error, c.error) {
				t.Fatalf("PUT %s: %d %+v, want %d with an error naming %q", c.path, status, ans, c.status, c.error)
			}
			if status != 200 {
				if c.path == "run.log" {
					return // the run folder has one, which the upload did not touch
				}
				if code, _ := getFileBody(t, base, fixtureBasic, c.path); code == 200 {
					t.Errorf("a refused upload left %s behind", c.path)
				}
				return
			}
			if ans.Deduplicated != c.dedup || ans.Size != int64(len(c.body)) || ans.SHA256 != c.sum {
				t.Errorf("PUT %s: %+v, want deduplicated %v, size %d", c.path, ans, c.dedup, len(c.body))
			}
			code, got := getFileBody(t, base, fixtureBasic, c.path)
			if code != 200 || !bytes.Equal(got, c.body) {
				t.Errorf("GET %s: %d, %d bytes, want the %d bytes uploaded", c.path, code, len(got), len(c.body))
			}
		})
	}
}

func TestPutFileHome(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	uploadCases(t, ts.URL, false)
	knownWithoutBody(t, ts.URL, []byte("weights of a tiny model\n"))
	// On a home the file lands in the run folder, as the client wrote it.
	data, err := os.ReadFile(filepath.Join(layout.RunDir(home, fixtureBasic), "artifacts", "model.txt"))
	if err != nil || string(data) != "weights of a tiny model\n" {
		t.Errorf("run folder's artifacts/model.txt: %q, %v", data, err)
	}
}

// bucket returns a store of its own in the tests' S3 server.
func bucket(t *testing.T, endpoint string, retryFor time.Duration) *objstore.S3 {
	t.Helper()
	prefix := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + hex.EncodeToString(randomFile(4))
	st, err := objstore.New(objstore.Location{Bucket: "runlog-test", Prefix: prefix, Endpoint: endpoint, Region: "us-east-1"},
		objstore.Options{PartSize: 5 << 20, RetryFor: retryFor})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return st
}

func TestPutFileBucket(t *testing.T) {
	endpoint := weedtest.Endpoint(t)
	home, _ := seedHome(t)
	st := bucket(t, endpoint, 10*time.Second)
	_, ts := newTestServer(t, home, Options{Files: st})
	uploadCases(t, ts.URL, true)
	// On a team server nothing lands in the run folder: the bucket holds
	// the files, by content.
	if _, err := os.Stat(filepath.Join(layout.RunDir(home, fixtureBasic), "artifacts")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the team server wrote the run folder: %v", err)
	}
	files, err := st.List(context.Background(), fixtureBasic)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range files {
		paths = append(paths, e.Path)
	}
	if got := strings.Join(paths, " "); got != "artifacts/model.txt checkpoints/best.pt checkpoints/step-100.pt" {
		t.Errorf("manifest: %s", got)
	}
	// The refused large upload left no parts behind: it was aborted.
	if n, err := st.AbortStale(context.Background(), 0); err != nil || n != 0 {
		t.Errorf("uploads left under way: %d, %v", n, err)
	}
}

// cutReader ends with an error after n bytes: a client that dies while
// it uploads.
type cutReader struct {
	r io.Reader
	n int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errors.New("client killed")
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// TestPutFileBucketFailures: the S3 server killed and back, an upload
// cut half-way and sent again.
func TestPutFileBucketFailures(t *testing.T) {
	weed := weedtest.StartT(t)
	home, _ := seedHome(t)
	st := bucket(t, weed.Endpoint, 2*time.Second)
	_, ts := newTestServer(t, home, Options{Files: st})
	ckpt := randomFile(17 << 20) // four parts
	sum := sha256Hex(ckpt)

	// A client dies after two parts and a half: the parts sent stay.
	status, ans := putFileReq(t, ts.URL, fixtureBasic, "checkpoints/step-1.pt", &cutReader{bytes.NewReader(ckpt), 12 << 20}, int64(len(ckpt)), sum)
	if status == 200 {
		t.Fatalf("a cut upload succeeded: %+v", ans)
	}
	if code, _ := getFileBody(t, ts.URL, fixtureBasic, "checkpoints/step-1.pt"); code != 404 {
		t.Fatalf("a cut upload is readable: %d", code)
	}

	// The S3 server is down: the upload is refused with 503 and a clear
	// message; metrics (the rest of the API) go on.
	if err := weed.Stop(); err != nil {
		t.Fatal(err)
	}
	status, ans = putFileReq(t, ts.URL, fixtureBasic, "checkpoints/step-1.pt", bytes.NewReader(ckpt), int64(len(ckpt)), sum)
	if status != 503 || !strings.Contains(ans.Error, "file store is unavailable") {
		t.Fatalf("upload while S3 is down: %d %+v, want 503", status, ans)
	}
	if resp, err := http.Get(ts.URL + "/api/v1/runs/" + fixtureBasic); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the run while S3 is down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Back: the upload is sent again, reusing the parts in place, and
	// the half-done upload is completed, not left over.
	if err := weed.Restart(); err != nil {
		t.Fatal(err)
	}
	status, ans = putFileReq(t, ts.URL, fixtureBasic, "checkpoints/step-1.pt", bytes.NewReader(ckpt), int64(len(ckpt)), sum)
	if status != 200 {
		t.Fatalf("upload after S3 came back: %d %+v", status, ans)
	}
	if code, got := getFileBody(t, ts.URL, fixtureBasic, "checkpoints/step-1.pt"); code != 200 || !bytes.Equal(got, ckpt) {
		t.Fatalf("GET after the upload: %d, %d bytes", code, len(got))
	}
	if n, err := st.AbortStale(context.Background(), 0); err != nil || n != 0 {
		t.Errorf("uploads left under way after the resumed upload: %d, %v", n, err)
	}
}
