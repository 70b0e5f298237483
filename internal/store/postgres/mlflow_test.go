package postgres_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
)

// TestUpdateMLflowDocument changes one document from many connections at
// once: every change is kept (each one read what the one before wrote), a
// change whose function fails leaves the document as it was, and the
// documents are listed by prefix.
func TestUpdateMLflowDocument(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	if got, err := db.MLflowDocument(ctx, "experiments"); got != nil || err != nil {
		t.Fatalf("a document never written: %q, %v", got, err)
	}
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.UpdateMLflowDocument(ctx, "experiments", func(old []byte) ([]byte, error) {
				count := 0
				if old != nil {
					count, _ = strconv.Atoi(string(old))
				}
				return []byte(strconv.Itoa(count + 1)), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	refused := errors.New("refused")
	if err := db.UpdateMLflowDocument(ctx, "experiments", func([]byte) ([]byte, error) { return nil, refused }); err != refused {
		t.Errorf("a failing change returned %v, want its error as it is", err)
	}
	if err := db.UpdateMLflowDocument(ctx, "models/m-1", func([]byte) ([]byte, error) { return nil, refused }); err != refused {
		t.Errorf("a failing change returned %v, want its error as it is", err)
	}
	if got, err := db.MLflowDocument(ctx, "experiments"); string(got) != strconv.Itoa(n) || err != nil {
		t.Errorf("after %d changes at once: %q, %v", n, got, err)
	}
	for _, id := range []string{"m-1", "m-2"} {
		if err := db.UpdateMLflowDocument(ctx, "models/"+id, func([]byte) ([]byte, error) { return []byte(`{"model_id":"` + id + `"}`), nil }); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := db.MLflowDocuments(ctx, "models/")
	if err != nil || len(docs) != 2 || string(docs["models/m-2"]) != `{"model_id":"m-2"}` {
		t.Errorf("models/: %q, %v", docs, err)
	}
}
