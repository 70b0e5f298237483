package mlflow

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/store/postgres/pgtest"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// BenchmarkLogBatch measures one runs/log-batch call of 1,000 metrics (10
// keys, 100 steps), from the request to the indexed response.
func BenchmarkLogBatch(b *testing.B) {
	home := b.TempDir()
	st, err := sqlite.Open(filepath.Join(home, "runlog.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := NewHandler(st, home, Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, jsonPost(TrackingPrefix+"runs/create", bytes.NewReader([]byte(`{"experiment_id":"0"}`))))
	id := decodeRunID(b, rec.Body.Bytes())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, jsonPost(TrackingPrefix+"runs/log-batch", logBatchBody(id, i)))
		if rec.Code != http.StatusOK {
			b.Fatalf("log-batch: %d %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkLogBatchServers measures runs/log-batch calls of 1,000 metrics
// over HTTP, one client at a time, from the request to the answer: on a
// home's server (`runlog ui`), which indexes metrics after answering; on a
// replica of a team server (`runlog server`), which appends them to
// PostgreSQL and indexes them before it answers; and on two replicas of
// one team server taking turns, as behind a round-robin proxy, where each
// call first reads what the other replica appended.
func BenchmarkLogBatchServers(b *testing.B) {
	servers := []struct {
		name  string
		serve func(b *testing.B) []string
	}{
		{"home", func(b *testing.B) []string { _, _, url := serveRunlog(b, "", nil); return []string{url} }},
		{"team", func(b *testing.B) []string { return []string{serveTeam(b, pgtest.DB(b), nil)} }},
		{"team-2-replicas", func(b *testing.B) []string {
			dsn := pgtest.DB(b)
			return []string{serveTeam(b, dsn, nil), serveTeam(b, dsn, nil)}
		}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			urls := s.serve(b)
			resp, err := http.Post(urls[0]+TrackingPrefix+"runs/create", "application/json", strings.NewReader(`{"experiment_id":"0"}`))
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id := decodeRunID(b, body)
			b.ResetTimer()
			for i := range b.N {
				resp, err := http.Post(urls[i%len(urls)]+TrackingPrefix+"runs/log-batch", "application/json", logBatchBody(id, i))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("log-batch: %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// logBatchBody is the i-th runs/log-batch request of the benchmarks above
// for run id: 1,000 metrics, 10 keys at 100 steps each, the steps after
// those of request i-1.
func logBatchBody(id string, i int) *bytes.Buffer {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"run_id":%q,"metrics":[`, id)
	for j := range 1000 {
		if j > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"key":"m%d","value":%g,"timestamp":%d,"step":%d}`, j%10, float64(j)*0.25, 1764201600000+int64(i), i*100+j/10)
	}
	buf.WriteString(`],"params":[],"tags":[]}`)
	return &buf
}
