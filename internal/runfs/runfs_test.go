package runfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fixture builds a home with a run folder and a secret beside it:
//
//	outside/secret.txt
//	run/run.log
//	run/artifacts/a.txt
//	run/artifacts/sub/b.txt
//	run/artifacts/etc      -> /etc
//	run/artifacts/passwd   -> /etc/passwd
//	run/artifacts/up       -> ../../outside      (a folder out of the run)
//	run/artifacts/secret   -> ../../outside/secret.txt
//	run/artifacts/runlog   -> ../run.log         (inside the run, out of artifacts/)
//	run/artifacts/alias    -> a.txt              (stays inside artifacts/)
//	run/artifacts/subalias -> sub                (a folder link that stays inside)
//	run/artifacts/dangling -> nothing
func fixture(t *testing.T) (home, run string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	home = t.TempDir()
	run = filepath.Join(home, "run")
	for name, body := range map[string]string{
		"outside/secret.txt":      "secret",
		"run/run.log":             "log",
		"run/artifacts/a.txt":     "a",
		"run/artifacts/sub/b.txt": "b",
	} {
		p := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"etc": "/etc", "passwd": "/etc/passwd", "up": "../../outside", "secret": "../../outside/secret.txt",
		"runlog": "../run.log", "alias": "a.txt", "subalias": "sub", "dangling": "nothing",
	} {
		if err := os.Symlink(target, filepath.Join(run, "artifacts", link)); err != nil {
			t.Fatal(err)
		}
	}
	return home, run
}

func artifacts(t *testing.T, run string) *Dir {
	t.Helper()
	d, err := Open(run)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	a, err := d.Sub("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestOpen(t *testing.T) {
	t.Parallel()
	_, run := fixture(t)
	a := artifacts(t, run)
	tests := []struct {
		name    string
		want    string // content, if it opens
		wantErr error
	}{
		{"a.txt", "a", nil},
		{"sub/b.txt", "b", nil},
		{"alias", "a", nil},          // a link that stays inside is its target
		{"subalias/b.txt", "b", nil}, // so is a folder link
		{"missing.txt", "", fs.ErrNotExist},
		{"dangling", "", fs.ErrNotExist},
		{"sub", "", ErrNotFile},
		{"../run.log", "", ErrOutside},
		{"sub/../a.txt", "", ErrOutside}, // refused by name, though it stays inside
		{"./a.txt", "", ErrOutside},
		{"sub//b.txt", "", ErrOutside},
		{"", "", ErrOutside},
		{"/etc/passwd", "", ErrOutside},
		{`..\run.log`, "", ErrOutside},
		{"a.txt\x00", "", ErrOutside},
		{"passwd", "", ErrOutside},
		{"etc/passwd", "", ErrOutside},
		{"secret", "", ErrOutside},
		{"up/secret.txt", "", ErrOutside},
		{"runlog", "", ErrOutside}, // inside the run, but out of artifacts/
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, fi, err := a.Open(tt.name)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open(%q) = %v; want %v", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, _ := io.ReadAll(f)
			if string(got) != tt.want || fi.Size() != int64(len(tt.want)) {
				t.Errorf("Open(%q) read %q (size %d); want %q", tt.name, got, fi.Size(), tt.want)
			}
		})
	}
}

func TestSubRefusesLinkOut(t *testing.T) {
	t.Parallel()
	_, run := fixture(t)
	if err := os.Symlink("/etc", filepath.Join(run, "escape")); err != nil {
		t.Fatal(err)
	}
	d, err := Open(run)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"escape", "..", "/etc", "artifacts/up"} {
		if s, err := d.Sub(name); !errors.Is(err, ErrOutside) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Sub(%q) = %v; want ErrOutside", name, err)
		}
	}
}

func TestStatAndReadDir(t *testing.T) {
	t.Parallel()
	_, run := fixture(t)
	a := artifacts(t, run)
	for _, name := range []string{"etc", "up", "passwd", "..", "/etc"} {
		if _, err := a.Stat(name); !errors.Is(err, ErrOutside) {
			t.Errorf("Stat(%q) = %v; want ErrOutside", name, err)
		}
		if _, err := a.ReadDir(name); !errors.Is(err, ErrOutside) {
			t.Errorf("ReadDir(%q) = %v; want ErrOutside", name, err)
		}
	}
	if fi, err := a.Stat("."); err != nil || !fi.IsDir() {
		t.Errorf("Stat(.) = %v, %v", fi, err)
	}
	entries, err := a.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fi := range entries {
		s := fi.Name()
		if fi.IsDir() {
			s += "/"
		}
		got = append(got, s)
	}
	// Links that lead out, or to nothing, are left out.
	if want := "a.txt alias sub/ subalias/"; strings.Join(got, " ") != want {
		t.Errorf("ReadDir(.) = %q; want %q", strings.Join(got, " "), want)
	}
	sub, err := a.ReadDir("subalias")
	if err != nil || len(sub) != 1 || sub[0].Name() != "b.txt" {
		t.Errorf("ReadDir(subalias) = %v, %v", sub, err)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	home, run := fixture(t)
	a := artifacts(t, run)
	tests := []struct {
		name    string
		body    string
		max     int64
		wantErr error
		file    string // where the body must land, relative to run/artifacts
	}{
		{name: "new.txt", body: "new", file: "new.txt"},
		{name: "a.txt", body: "replaced", file: "a.txt"},
		{name: "deep/er/c.bin", body: "deep", file: "deep/er/c.bin"},
		{name: "subalias/d.txt", body: "via a link inside", file: "sub/d.txt"},
		{name: "limit.txt", body: "12345", max: 5, file: "limit.txt"},
		{name: "over.txt", body: "123456", max: 5, wantErr: ErrTooLarge},
		{name: "../x.txt", body: "x", wantErr: ErrOutside},
		{name: "/tmp/x.txt", body: "x", wantErr: ErrOutside},
		{name: "etc/runlog-test", body: "x", wantErr: ErrOutside},
		{name: "up/planted.txt", body: "x", wantErr: ErrOutside},
		{name: "up/new/planted.txt", body: "x", wantErr: ErrOutside},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Create(tt.name, strings.NewReader(tt.body), tt.max)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Create(%q) = %v; want %v", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(tt.body))
			if got.Size != int64(len(tt.body)) || got.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("Create(%q) = %+v", tt.name, got)
			}
			data, err := os.ReadFile(filepath.Join(run, "artifacts", filepath.FromSlash(tt.file)))
			if err != nil || string(data) != tt.body {
				t.Errorf("%s holds %q, %v; want %q", tt.file, data, err, tt.body)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(home, "outside", "planted.txt")); err == nil {
		t.Error("a file was written outside the run folder")
	}
	if _, err := os.Stat(filepath.Join(home, "outside", "new")); err == nil {
		t.Error("a folder was created outside the run folder")
	}
	// Refused or failed writes leave no temporary files behind.
	entries, _ := os.ReadDir(filepath.Join(run, "artifacts"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

// TestCreateReplacesLink: writing over a name that is a link replaces the
// link, never the file it points to.
func TestCreateReplacesLink(t *testing.T) {
	t.Parallel()
	home, run := fixture(t)
	a := artifacts(t, run)
	for _, name := range []string{"secret", "passwd", "runlog"} {
		if _, err := a.Create(name, strings.NewReader("overwritten"), 0); err != nil {
			t.Fatalf("Create(%q): %v", name, err)
		}
		fi, err := os.Lstat(filepath.Join(run, "artifacts", name))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file after Create: %v %v", name, fi, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(home, "outside", "secret.txt")); string(data) != "secret" {
		t.Errorf("the link's target was written: %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(run, "run.log")); string(data) != "log" {
		t.Errorf("run.log was written: %q", data)
	}
}

func TestCreateKeepsOldOnFailure(t *testing.T) {
	t.Parallel()
	_, run := fixture(t)
	a := artifacts(t, run)
	body := io.MultiReader(strings.NewReader("half"), errReader{})
	if _, err := a.Create("a.txt", body, 0); err == nil {
		t.Fatal("Create succeeded with a failing body")
	}
	if data, _ := os.ReadFile(filepath.Join(run, "artifacts", "a.txt")); string(data) != "a" {
		t.Errorf("a.txt = %q after a failed Create; want the old content", data)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestOpenAppend(t *testing.T) {
	t.Parallel()
	home, run := fixture(t)
	d, err := Open(run)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, created, err := d.OpenAppend("run.log")
	if err != nil || created {
		t.Fatalf("OpenAppend(run.log) = %v, created %v", err, created)
	}
	f.WriteString("+more")
	f.Close()
	if data, _ := os.ReadFile(filepath.Join(run, "run.log")); string(data) != "log+more" {
		t.Errorf("run.log = %q", data)
	}
	f, created, err = d.OpenAppend("training.log")
	if err != nil || !created {
		t.Fatalf("OpenAppend(training.log) = %v, created %v", err, created)
	}
	f.Close()
	if err := os.Symlink("../outside/secret.txt", filepath.Join(run, "run.x.log")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"run.x.log", "../outside/secret.txt", "artifacts/etc/passwd"} {
		if f, _, err := d.OpenAppend(name); !errors.Is(err, ErrOutside) {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenAppend(%q) = %v; want ErrOutside", name, err)
		}
	}
	if _, _, err := d.OpenAppend("artifacts"); !errors.Is(err, ErrNotFile) && err == nil {
		t.Errorf("OpenAppend(artifacts) = %v; want an error", err)
	}
	if data, _ := os.ReadFile(filepath.Join(home, "outside", "secret.txt")); !bytes.Equal(data, []byte("secret")) {
		t.Errorf("secret.txt = %q", data)
	}
}
