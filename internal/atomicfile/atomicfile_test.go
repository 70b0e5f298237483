package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		old     string // content before, "" for none
		write   string
		fail    bool
		want    string
		wantErr bool
	}{
		{name: "new file", path: "a.txt", write: "hello", want: "hello"},
		{name: "replaces", path: "b.txt", old: "old", write: "new", want: "new"},
		{name: "creates folders", path: "c/d/e.txt", write: "deep", want: "deep"},
		{name: "failed write keeps the old file", path: "f.txt", old: "kept", write: "half", fail: true, want: "kept", wantErr: true},
		{name: "failed write creates nothing", path: "g.txt", write: "half", fail: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.path)
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, func(w io.Writer) error {
				io.WriteString(w, tt.write)
				if tt.fail {
					return errors.New("disk on fire")
				}
				return nil
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Write: err = %v, want error %v", err, tt.wantErr)
			}
			got, rerr := os.ReadFile(path)
			if tt.want == "" {
				if !errors.Is(rerr, os.ErrNotExist) {
					t.Errorf("file exists after a failed write: %q, %v", got, rerr)
				}
			} else if string(got) != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if tt.want != "" && !tt.wantErr {
				fi, _ := os.Stat(path)
				if fi.Mode().Perm() != 0o644 {
					t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
				}
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestWriteFileIntoAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	block := filepath.Join(dir, "block")
	os.WriteFile(block, nil, 0o644)
	if err := WriteFile(filepath.Join(block, "x"), []byte("x")); err == nil {
		t.Fatal("WriteFile under a plain file succeeded")
	}
}
