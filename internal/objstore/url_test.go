package objstore

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	tests := []struct {
		url  string
		want Location
		err  string
	}{
		{url: "s3://runs", want: Location{Bucket: "runs", Endpoint: "https://s3.amazonaws.com", Region: "us-east-1"}},
		{url: "s3://runs/lab/a/?endpoint=http://127.0.0.1:8333&region=eu-west-1",
			want: Location{Bucket: "runs", Prefix: "lab/a", Endpoint: "http://127.0.0.1:8333", Region: "eu-west-1"}},
		{url: "s3://runs/x?endpoint=https://minio.lab.example:9000/", want: Location{Bucket: "runs", Prefix: "x", Endpoint: "https://minio.lab.example:9000", Region: "us-east-1"}},
		{url: "s3:///prefix", err: "names no bucket"},
		{url: "https://runs/x", err: "want s3://"},
		{url: "s3://key:secret@runs/x", err: "credentials do not go in the URL"},
		{url: "s3://runs/a/../b", err: "empty, . or .. parts"},
		{url: "s3://runs/a//b", err: "empty, . or .. parts"},
		{url: "s3://runs?endpoint=127.0.0.1:8333", err: "is not a server's base URL"},
		{url: "s3://runs?endpoint=http://h:1/path", err: "is not a server's base URL"},
		{url: "s3://runs?bucket=x", err: `unknown parameter "bucket"`},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.url)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) error = %v, want one containing %q", tt.url, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
			continue
		}
		if again, err := ParseURL(got.String()); err != nil || again != got {
			t.Errorf("ParseURL(%q.String() = %q) = %+v, %v", tt.url, got.String(), again, err)
		}
	}
}

func TestParseURLEnvironment(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "ap-south-1")
	got, err := ParseURL("s3://b/p")
	if want := (Location{Bucket: "b", Prefix: "p", Endpoint: "http://127.0.0.1:9000", Region: "ap-south-1"}); err != nil || got != want {
		t.Errorf("ParseURL = %+v, %v; want %+v", got, err, want)
	}
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		url  string
		kind string
	}{
		{"s3://b/p?endpoint=http://127.0.0.1:1", "*objstore.S3"},
		{"file://" + dir, "*objstore.Folder"},
		{dir, "*objstore.Folder"},
		{"file://relative/x", ""},
		{"gs://b/p", ""},
		{"", ""},
	} {
		s, err := OpenURL(tt.url, Options{})
		got := ""
		if err == nil {
			got = fmtType(s)
		}
		if got != tt.kind {
			t.Errorf("OpenURL(%q) = %s, %v; want %q", tt.url, got, err, tt.kind)
		}
	}
}

func fmtType(s Store) string {
	switch s.(type) {
	case *S3:
		return "*objstore.S3"
	case *Folder:
		return "*objstore.Folder"
	}
	return "?"
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b/p?endpoint=http://127.0.0.1:8333&region=x", "s3://b", "s3://b/a/../c", "s3://u:p@b/x?endpoint=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := ParseURL(raw)
		if err != nil {
			return
		}
		if loc.Bucket == "" || strings.HasPrefix(loc.Prefix, "/") || strings.HasSuffix(loc.Prefix, "/") {
			t.Fatalf("ParseURL(%q) = %+v", raw, loc)
		}
		again, err := ParseURL(loc.String())
		if err != nil || again != loc {
			t.Fatalf("ParseURL(%q): %+v does not survive String (%q): %+v, %v", raw, loc, loc.String(), again, err)
		}
	})
}
