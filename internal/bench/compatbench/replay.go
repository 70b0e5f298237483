package compatbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// replay loads a server with the requests the MLflow client sends — the
// same JSON, as Python's json.dumps writes it — from 20 goroutines of this
// process instead of 20 Python processes. The client then costs almost
// nothing, and what is measured is how much the server can take.
// Replay is replay for other benchmarks (teambench's reference): the
// points acknowledged and the seconds taken.
func Replay(url string, clients int, seconds float64, batch int) (points int64, took float64, err error) {
	row, err := replay(url, clients, seconds, batch)
	return row.Points, row.Seconds, err
}

func replay(url string, clients int, seconds float64, batch int) (mlflowRow, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Minute}
	ids := make([]string, clients)
	for i := range ids {
		var out struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		body := fmt.Sprintf(`{"experiment_id": "0", "start_time": %d}`, time.Now().UnixMilli())
		if err := post(hc, url+"/api/2.0/mlflow/runs/create", []byte(body), &out); err != nil {
			return mlflowRow{}, err
		}
		ids[i] = out.Run.Info.RunID
	}
	var mu sync.Mutex
	var row mlflowRow
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for step := 0; time.Since(start).Seconds() < seconds; step += batch / 10 {
				buf = logBatchBody(buf[:0], ids[c], step, batch)
				err := post(hc, url+"/api/2.0/mlflow/runs/log-batch", buf, nil)
				mu.Lock()
				if err != nil {
					row.Errors++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					row.Points += int64(batch)
					row.Batches++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	row.Seconds = time.Since(start).Seconds()
	if row.Batches == 0 && firstErr != nil {
		return row, firstErr
	}
	return row, nil
}

// logBatchBody writes the body of a log_batch call as the Python client
// does: 10 keys, batch/10 steps.
func logBatchBody(dst []byte, runID string, step, batch int) []byte {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	dst = append(dst, `{"run_id": "`...)
	dst = append(dst, runID...)
	dst = append(dst, `", "metrics": [`...)
	for i := range batch {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, `{"key": "m`...)
		dst = strconv.AppendInt(dst, int64(i%10), 10)
		dst = append(dst, `", "value": `...)
		dst = strconv.AppendFloat(dst, float64(step+i), 'f', 1, 64)
		dst = append(dst, `, "timestamp": `...)
		dst = append(dst, ts...)
		dst = append(dst, `, "step": `...)
		dst = strconv.AppendInt(dst, int64(step+i/10), 10)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func post(hc *http.Client, url string, body []byte, out any) error {
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, tail(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
