package mlflow

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

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
		var buf bytes.Buffer
		fmt.Fprintf(&buf, `{"run_id":%q,"metrics":[`, id)
		for j := range 1000 {
			if j > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"key":"m%d","value":%g,"timestamp":%d,"step":%d}`, j%10, float64(j)*0.25, 1764201600000+int64(i), i*100+j/10)
		}
		buf.WriteString(`],"params":[],"tags":[]}`)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, jsonPost(TrackingPrefix+"runs/log-batch", &buf))
		if rec.Code != http.StatusOK {
			b.Fatalf("log-batch: %d %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "points/s")
}
