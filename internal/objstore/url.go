package objstore

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"
)

// Location is where an S3 store keeps its objects: the bucket, a key
// prefix inside it (no leading or trailing slash; empty for the whole
// bucket), the server's endpoint URL and the region.
type Location struct {
	Bucket, Prefix   string
	Endpoint, Region string
}

// ParseURL reads the location of an S3 store from
//
//	s3://BUCKET[/PREFIX][?endpoint=URL][&region=REGION]
//
// The endpoint is the server's base URL, http:// or https://
// (e.g. http://127.0.0.1:8333 for a SeaweedFS on this machine); without
// one, $AWS_ENDPOINT_URL_S3, then $AWS_ENDPOINT_URL, then Amazon S3
// (https://s3.amazonaws.com). The region defaults to $AWS_REGION, then
// $AWS_DEFAULT_REGION, then us-east-1. Credentials are not part of the
// URL: they come from the environment (see New).
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("files URL %q: %w", raw, err)
	}
	if u.Scheme != "s3" {
		return Location{}, fmt.Errorf("files URL %q: want s3://bucket/prefix?endpoint=http://host:port", raw)
	}
	if u.User != nil {
		return Location{}, fmt.Errorf("files URL %q: credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", redact(u))
	}
	loc := Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if loc.Bucket == "" {
		return Location{}, fmt.Errorf("files URL %q names no bucket: want s3://bucket/prefix", raw)
	}
	if loc.Prefix != "" && path.Clean(loc.Prefix) != loc.Prefix {
		return Location{}, fmt.Errorf("files URL %q: the prefix %q has empty, . or .. parts", raw, loc.Prefix)
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return Location{}, fmt.Errorf("files URL %q: unknown parameter %q (known: endpoint, region)", raw, k)
		}
	}
	loc.Endpoint = firstOf(q.Get("endpoint"), os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"), "https://s3.amazonaws.com")
	loc.Region = firstOf(q.Get("region"), os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	e, err := url.Parse(loc.Endpoint)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") || e.RawQuery != "" {
		return Location{}, fmt.Errorf("files URL %q: endpoint %q is not a server's base URL like http://127.0.0.1:8333", raw, loc.Endpoint)
	}
	loc.Endpoint = e.Scheme + "://" + e.Host
	return loc, nil
}

// String writes the location back as an s3:// URL.
func (l Location) String() string {
	q := url.Values{"endpoint": {l.Endpoint}, "region": {l.Region}}
	return (&url.URL{Scheme: "s3", Host: l.Bucket, Path: "/" + l.Prefix, RawQuery: q.Encode()}).String()
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// OpenURL returns the store a files URL names: s3://… an S3 store (see
// ParseURL; credentials from the environment, see New), file:///HOME or a
// plain path the home at that folder (Folder).
func OpenURL(raw string, opts Options) (Store, error) {
	if strings.HasPrefix(raw, "s3://") {
		loc, err := ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return New(loc, opts)
	}
	if rest, ok := strings.CutPrefix(raw, "file://"); ok {
		if !strings.HasPrefix(rest, "/") {
			return nil, fmt.Errorf("files URL %q: want file:///absolute/path", raw)
		}
		raw = rest
	}
	if raw == "" || strings.Contains(raw, "://") {
		return nil, fmt.Errorf("files URL %q: want s3://bucket/prefix?endpoint=…, file:///path or a folder", raw)
	}
	return NewFolder(raw), nil
}
