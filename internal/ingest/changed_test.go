package ingest_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
)

func TestResultChanged(t *testing.T) {
	home := homeWith(t, "k3v9x2ab", fixture(t, "basic"))
	dir := filepath.Join(home, "runs", "r7m2q4zz")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "run.log"), fixture(t, "resume"), 0o644)
	st := openStore(t, home)
	res, err := ingest.Home(ctx, st, home, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 2 {
		t.Errorf("first indexing: Changed %v, want both runs", res.Changed)
	}
	res, err = ingest.Home(ctx, st, home, ingest.Options{})
	if err != nil || len(res.Changed) != 0 {
		t.Errorf("nothing new: Changed %v (%v)", res.Changed, err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, "run.log"), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{1, 2}) // a torn tail is no new data
	f.Close()
	if res, _ = ingest.Home(ctx, st, home, ingest.Options{}); len(res.Changed) != 0 {
		t.Errorf("a torn tail: Changed %v", res.Changed)
	}
	res, err = ingest.Run(ctx, st, dir, ingest.Options{Rebuild: true})
	if err != nil || !reflect.DeepEqual(res.Changed, []string{"r7m2q4zz"}) {
		t.Errorf("Run: Changed %v (%v)", res.Changed, err)
	}
}
