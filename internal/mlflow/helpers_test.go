package mlflow

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/store"
)

func decodeRunID(t testing.TB, body []byte) string {
	t.Helper()
	var out struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Run.Info.RunID == "" {
		t.Fatalf("runs/create answered %s (%v)", body, err)
	}
	return out.Run.Info.RunID
}

func ingestHome(st store.Store, home string) (ingest.Result, error) {
	return ingest.Home(context.Background(), st, home, ingest.Options{})
}
