package tbimport

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// importInto imports dir into home and indexes it, collecting warnings.
func importInto(t *testing.T, home, dir, project string) (Result, []error, *sqlite.DB) {
	t.Helper()
	var warns []error
	res, err := Import(context.Background(), home, dir, Options{Project: project, Warn: func(err error) { warns = append(warns, err) }})
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.Home(context.Background(), st, home, ingest.Options{Warn: func(err error) { t.Errorf("index: %v", err) }}); err != nil {
		t.Fatal(err)
	}
	return res, warns, st
}

// copyTree copies the fixture folder src to a temporary folder.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// checkRuns compares what the store holds of the runs with the fixtures.
func checkRuns(t *testing.T, st store.Store, fx fixtures, project string, names []string) {
	t.Helper()
	ctx := context.Background()
	runs, err := st.Runs(ctx, store.Filter{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]store.Run{}
	for _, r := range runs {
		byName[r.Name] = r
	}
	for _, name := range names {
		r, ok := byName[name]
		if !ok {
			t.Errorf("no run %q; runs: %v", name, runs)
			continue
		}
		if r.Status != "finished" || !slices.Contains(r.Tags, "tensorboard") {
			t.Errorf("run %s: status %s, tags %v; want finished, tagged tensorboard", name, r.Status, r.Tags)
		}
		if i := strings.LastIndexByte(name, '/'); i > 0 && r.Group != name[:i] {
			t.Errorf("run %s: group %q; want %q", name, r.Group, name[:i])
		}
		ser, err := st.Series(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ser) != len(fx.Runs[name]) {
			var keys []string
			for _, s := range ser {
				keys = append(keys, s.Key)
			}
			t.Errorf("run %s: series %v; want the tags %d of fixtures.json", name, keys, len(fx.Runs[name]))
		}
		for tag := range fx.Runs[name] {
			want := fx.points(t, name, tag)
			got, err := st.Points(ctx, r.ID, tag, store.PointsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != len(want) {
				t.Errorf("run %s tag %s: %d points; want %d", name, tag, got.Len(), len(want))
				continue
			}
			for i, w := range want {
				v := got.Values[i]
				same := v == w.Value || math.IsNaN(v) && math.IsNaN(w.Value)
				if got.Steps[i] != w.Step || got.Times[i] != int64(math.Round(w.Time*1000)) || !same {
					t.Errorf("run %s tag %s point %d: (%d, %d, %v); want (%d, %.3f, %v)", name, tag, i, got.Steps[i], got.Times[i], v, w.Step, w.Time, w.Value)
				}
			}
		}
	}
}

func TestImportFixtures(t *testing.T) {
	t.Parallel()
	fx := loadFixtures(t)
	tests := []struct {
		dir   string
		runs  []string
		names []string // the run names in the store, if they differ
	}{
		{"tensorboardX", []string{"train", "train/lr/decoder", "train/lr/encoder"}, nil},
		{"torch", []string{"baseline", "sweep/lr-0.01", "sweep/lr-0.1"}, nil},
		{"crafted", []string{"tf2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			res, warns, st := importInto(t, home, filepath.Join("testdata", tt.dir), "p")
			if len(warns) > 0 {
				t.Errorf("warnings: %v", warns)
			}
			if len(res.Runs) != len(tt.runs) {
				t.Fatalf("imported %d runs; want %d", len(res.Runs), len(tt.runs))
			}
			checkRuns(t, st, fx, "p", tt.runs)

			// Importing again changes nothing.
			sizes := logSizes(t, res)
			again, warns, _ := importInto(t, home, filepath.Join("testdata", tt.dir), "p")
			if again.Points != 0 || len(warns) > 0 {
				t.Errorf("second import: %d points, warnings %v; want none", again.Points, warns)
			}
			if !slices.Equal(sizes, logSizes(t, again)) {
				t.Errorf("second import changed run.log sizes: %v → %v", sizes, logSizes(t, again))
			}
		})
	}
}

func logSizes(t *testing.T, res Result) []int64 {
	var out []int64
	for _, r := range res.Runs {
		fi, err := os.Stat(filepath.Join(r.Dir, layout.RunLogFile))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fi.Size())
	}
	return out
}

// TestImportIDs checks that the same events map to the same run wherever
// they are imported from, and to another run in another project.
func TestImportIDs(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	whole, _, _ := importInto(t, home, filepath.Join("testdata", "torch"), "p")
	part, _, _ := importInto(t, home, filepath.Join("testdata", "torch", "sweep"), "p")
	ids := map[string]string{}
	for _, r := range whole.Runs {
		ids[filepath.Base(r.Source)] = r.ID
	}
	for _, r := range part.Runs {
		if ids[filepath.Base(r.Source)] != r.ID || r.Points != 0 || r.New {
			t.Errorf("run %s imported from its parent folder: id %s, %d new points; want %s and none", r.Name, r.ID, r.Points, ids[filepath.Base(r.Source)])
		}
	}
	other, _, _ := importInto(t, home, filepath.Join("testdata", "torch", "sweep"), "q")
	if other.Runs[0].ID == part.Runs[0].ID || !other.Runs[0].New {
		t.Errorf("another project reused run %s", other.Runs[0].ID)
	}
	one, _, _ := importInto(t, home, filepath.Join("testdata", "torch", "baseline", "events.out.tfevents.1764201600.fixture-host.2000.0"), "p")
	if len(one.Runs) != 1 || one.Runs[0].ID != ids["baseline"] {
		t.Errorf("importing one event file: %+v; want run %s", one.Runs, ids["baseline"])
	}
}

// TestImportLive imports an event file that grows, as a training's does,
// with its last record half written at times.
func TestImportLive(t *testing.T) {
	t.Parallel()
	fx := loadFixtures(t)
	src := filepath.Join("testdata", "torch", "baseline", "events.out.tfevents.1764201600.fixture-host.2000.0")
	full, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "baseline")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, filepath.Base(src))
	home := t.TempDir()
	var total int64
	for _, cut := range []int{len(full) / 3, len(full)/3 + 5, 2 * len(full) / 3, len(full)} {
		if err := os.WriteFile(path, full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		res, warns, _ := importInto(t, home, dir, "p")
		total += res.Points
		var tr *Truncated
		for _, w := range warns {
			if !errors.As(w, &tr) {
				t.Errorf("warning %v", w)
			}
		}
	}
	_, _, st := importInto(t, home, dir, "p")
	checkRuns(t, st, fx, "p", []string{"baseline"})
	if want := int64(len(fx.Runs["baseline"]["Loss/train"]) + len(fx.Runs["baseline"]["Loss/val"])); total != want {
		t.Errorf("imported %d points in four goes; want %d", total, want)
	}
}

// TestImportInterrupted imports after an import that died after writing
// run.log but before its cursor: what it appended is cut off and read
// again, not doubled.
func TestImportInterrupted(t *testing.T) {
	t.Parallel()
	fx := loadFixtures(t)
	dir := copyTree(t, filepath.Join("testdata", "torch", "baseline"))
	path, _ := filepath.Glob(filepath.Join(dir, "*tfevents*"))
	full, _ := os.ReadFile(path[0])
	os.WriteFile(path[0], full[:len(full)/2], 0o644)
	home := t.TempDir()
	first, _, _ := importInto(t, home, dir, "p")
	log := filepath.Join(first.Runs[0].Dir, layout.RunLogFile)
	cur, _ := os.ReadFile(filepath.Join(first.Runs[0].Dir, CursorFile))

	// The second import runs to the end, then "dies" before its cursor.
	os.WriteFile(path[0], full, 0o644)
	importInto(t, home, dir, "p")
	os.WriteFile(filepath.Join(first.Runs[0].Dir, CursorFile), cur, 0o644)
	before, _ := os.Stat(log)

	home2 := t.TempDir() // a store that never saw the lost import
	os.MkdirAll(filepath.Join(home2, layout.RunsDir), 0o755)
	if err := os.Rename(first.Runs[0].Dir, filepath.Join(home2, layout.RunsDir, first.Runs[0].ID)); err != nil {
		t.Fatal(err)
	}
	res, warns, st := importInto(t, home2, dir, "p")
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	after, _ := os.Stat(filepath.Join(home2, layout.RunsDir, first.Runs[0].ID, layout.RunLogFile))
	if after.Size() != before.Size() || res.Points == 0 {
		t.Errorf("run.log %d bytes after the re-import, %d points; want %d bytes again", after.Size(), res.Points, before.Size())
	}
	checkRuns(t, st, fx, "p", []string{"baseline"})
}

// TestImportCorrupt imports the fixture with a corrupt record: the warning
// names the file and offset, and every other record is imported.
func TestImportCorrupt(t *testing.T) {
	t.Parallel()
	fx := loadFixtures(t)
	home := t.TempDir()
	res, warns, st := importInto(t, home, filepath.Join("testdata", "corrupt"), "p")
	var c *Corruption
	var tr *Truncated
	for _, w := range warns {
		switch {
		case errors.As(w, &c):
			if c.Offset != fx.CorruptOffset || !strings.Contains(w.Error(), "events.out.tfevents") {
				t.Errorf("corruption warning %q; want the file and offset %d", w, fx.CorruptOffset)
			}
		case errors.As(w, &tr):
		default:
			t.Errorf("warning %v", w)
		}
	}
	if c == nil || tr == nil {
		t.Fatalf("warnings %v; want a corrupt record and a truncated one", warns)
	}
	want := int64(len(fx.Runs["baseline"]["Loss/train"]) + len(fx.Runs["baseline"]["Loss/val"]))
	if res.Points != want-1 { // the corrupt record held one value
		t.Errorf("imported %d points; want %d", res.Points, want-1)
	}
	runs, _ := st.Runs(context.Background(), store.Filter{})
	if len(runs) != 1 || runs[0].Name != "run" {
		t.Errorf("runs %v; want one named run", runs)
	}
}

func TestImportNothing(t *testing.T) {
	t.Parallel()
	_, err := Import(context.Background(), t.TempDir(), t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "no TensorBoard event files") {
		t.Errorf("import of an empty folder: %v", err)
	}
}

func TestHostOf(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"events.out.tfevents.1764201600.gpu-box.4242.0":              "gpu-box",
		"events.out.tfevents.1764201600.node1.cluster.local.77.3.v2": "node1.cluster.local",
		"events.out.tfevents.1764201600.host":                        "host",
		"foo":                                                        "",
	}
	for name, want := range tests {
		if got := hostOf(name); got != want {
			t.Errorf("hostOf(%q) = %q; want %q", name, got, want)
		}
	}
}
