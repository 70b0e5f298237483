package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/series"
)

// Files: a run's registered artifacts and checkpoints go to the server
// besides its logs (docs/team-server.md, "Files from clients"). Which of
// them is the run's upload policy; what the server has acknowledged is
// kept in the run folder (UploadsFile), so that an upload cut short by a
// restart, a crash or a server that was down is sent again later, by the
// run itself when it resumes or by `runlog sync`. The local file stays
// the durable copy: nothing here deletes it.

// EnvUpload names the environment variable holding the upload policy.
const EnvUpload = "RUNLOG_UPLOAD"

// Policy says which of a run's registered files are uploaded.
type Policy string

// The policies. Files that are not checkpoints (models, plots, other
// files) are uploaded under every policy but none.
const (
	// PolicyNone uploads nothing: the files stay on the machine that
	// wrote them.
	PolicyNone Policy = "none"
	// PolicyBest uploads each checkpoint that is the best so far by its
	// validation score (the metadata the run gives it, e.g.
	// {"val_loss": 2.31}).
	PolicyBest Policy = "best"
	// PolicyBestLast uploads the best ones and the latest: a newer
	// checkpoint replaces an older one that is waiting only as the latest.
	// The default.
	PolicyBestLast Policy = "best+last"
	// PolicyAll uploads every checkpoint.
	PolicyAll Policy = "all"
)

// ParsePolicy reads a policy; "" is the default, best+last.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.TrimSpace(strings.ToLower(s))); p {
	case "":
		return PolicyBestLast, nil
	case PolicyNone, PolicyBest, PolicyBestLast, PolicyAll:
		return p, nil
	}
	return "", fmt.Errorf("upload policy %q: want none, best, best+last or all", s)
}

// UploadFolders are the folders of a run whose files are uploaded; the
// logs go through ingest, and a file registered elsewhere in the run
// folder stays local.
var UploadFolders = []string{"artifacts/", "checkpoints/", "media/"}

// Uploadable tells whether a path of a run folder lies in UploadFolders.
func Uploadable(path string) bool {
	for _, f := range UploadFolders {
		if strings.HasPrefix(path, f) {
			return true
		}
	}
	return false
}

// Chooser decides, artifact by artifact in the order a run registers
// them, which ones its policy uploads. The zero value with a Policy set
// is ready; its fields are saved in UploadState so that a resumed run
// judges "best" against what came before.
type Chooser struct {
	Policy Policy `json:"policy"`
	// BestKey and Best are the score of the best checkpoint so far.
	BestKey string   `json:"best_key,omitempty"`
	Best    *float64 `json:"best,omitempty"`
}

// Choose says whether a newly registered artifact is uploaded, and
// whether only as the run's latest checkpoint (asLast), which a later
// checkpoint makes moot.
func (c *Chooser) Choose(a runfmt.Artifact) (upload, asLast bool) {
	if c.Policy == PolicyNone || !Uploadable(a.Path) {
		return false, false
	}
	if a.Kind != runfmt.KindCheckpoint {
		return true, false
	}
	best := c.better(a)
	switch c.Policy {
	case PolicyAll:
		return true, false
	case PolicyBest:
		return best, false
	default:
		return true, !best
	}
}

// better tells whether the checkpoint beats the best so far by its
// score, and if so makes it the best. The score is the first of the
// usual validation-loss keys in its metadata, else the first metadata
// key, by name, that series.Goal judges (a loss, an accuracy).
func (c *Chooser) better(a runfmt.Artifact) bool {
	key := c.BestKey
	if key == "" {
		key = scoreKey(a.Metadata)
	}
	if key == "" {
		return false
	}
	v, ok := number(a.Metadata[key])
	if !ok || math.IsNaN(v) {
		return false
	}
	if c.Best != nil {
		maximize := series.Goal(key, "") == runfmt.GoalMaximize
		if maximize && v <= *c.Best || !maximize && v >= *c.Best {
			return false
		}
	}
	c.BestKey, c.Best = key, &v
	return true
}

func scoreKey(meta map[string]any) string {
	for _, k := range series.ValLossKeys {
		if _, ok := number(meta[k]); ok {
			return k
		}
	}
	keys := make([]string, 0, len(meta))
	for k, v := range meta {
		if _, ok := number(v); ok && series.Goal(k, "") != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// number reads a score: a float64 as JSON gives it, or a Go number as a
// Go program passes it.
func number(v any) (float64, bool) {
	switch x := runfmt.NumberValue(v).(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Select returns, of a finished run's artifacts in the order it
// registered them, those its policy uploads: every one that is not a
// checkpoint, and of the checkpoints all, the best, or the best and the
// last. Later registrations of a path replace earlier ones.
func Select(policy Policy, arts []runfmt.Artifact) []runfmt.Artifact {
	c := Chooser{Policy: policy}
	var out []runfmt.Artifact
	bestAt, lastAt := -1, -1
	for _, a := range arts {
		up, asLast := c.Choose(a)
		if !up {
			continue
		}
		if a.Kind == runfmt.KindCheckpoint && policy != PolicyAll {
			if asLast {
				lastAt = len(out)
			} else {
				bestAt, lastAt = len(out), len(out)
			}
		}
		out = append(out, a)
	}
	keep := out[:0]
	for i, a := range out {
		if a.Kind == runfmt.KindCheckpoint && policy != PolicyAll && i != bestAt && i != lastAt {
			continue // an earlier best, or an earlier latest
		}
		keep = append(keep, a)
	}
	return keep
}

// UploadsFile is the file of a run folder that records its uploads.
const UploadsFile = "uploads.json"

// PendingFile is a file waiting to be uploaded.
type PendingFile struct {
	Path   string `json:"path"` // in the run folder, slash-separated
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Last is set when it waits only as the run's latest checkpoint.
	Last bool `json:"last,omitempty"`
}

// UploadState is what UploadsFile holds: the files waiting, in order, and
// those the server acknowledged (path to sha256), for the server at URL.
type UploadState struct {
	URL     string            `json:"url"`
	Chooser Chooser           `json:"chooser"`
	Pending []PendingFile     `json:"pending"`
	Acked   map[string]string `json:"acked"`
}

// LoadUploads reads a run folder's upload state; a run without one has an
// empty state.
func LoadUploads(dir string) (UploadState, error) {
	st := UploadState{Acked: map[string]string{}}
	data, err := os.ReadFile(filepath.Join(dir, UploadsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return UploadState{Acked: map[string]string{}}, fmt.Errorf("%s: %w", filepath.Join(dir, UploadsFile), err)
	}
	if st.Acked == nil {
		st.Acked = map[string]string{}
	}
	return st, nil
}

// Save writes the state into the run folder, whole (atomicfile).
func (st *UploadState) Save(dir string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, UploadsFile), append(data, '\n'))
}

// Add queues a file unless the server acknowledged that content under
// its path already. A file queued only as the latest checkpoint replaces
// the others queued only as the latest; a path queued again is queued
// once, with its new content.
func (st *UploadState) Add(f PendingFile) bool {
	if sum, ok := st.Acked[f.Path]; ok && sum == f.SHA256 {
		return false
	}
	st.Pending = slices.DeleteFunc(st.Pending, func(p PendingFile) bool {
		return p.Path == f.Path || f.Last && p.Last
	})
	st.Pending = append(st.Pending, f)
	return true
}

// Done records the server's acknowledgment of a file.
func (st *UploadState) Done(f PendingFile) {
	st.Acked[f.Path] = f.SHA256
	st.Pending = slices.DeleteFunc(st.Pending, func(p PendingFile) bool { return p == f })
}

// Drop gives up a file waiting: it is gone, or the server refuses it.
func (st *UploadState) Drop(f PendingFile) {
	st.Pending = slices.DeleteFunc(st.Pending, func(p PendingFile) bool { return p == f })
}

// FileResult is what the server answered an upload.
type FileResult struct {
	Size         int64
	SHA256       string
	Deduplicated bool // the server held the content; the body was not sent
}

// uploadHTTP sends files: no overall timeout (a large checkpoint takes
// what it takes), but a server that does not answer the connection or
// the 100 Continue is noticed.
var uploadHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	ExpectContinueTimeout: 5 * time.Second,
	IdleConnTimeout:       90 * time.Second,
	MaxIdleConnsPerHost:   4,
}}

// PutFile uploads the file at local path as the file name of the run
// (PUT /api/v1/runs/{id}/files/{name}), stating its size and sha256,
// which the server checks. The content must not change meanwhile (the
// server then refuses it). sum may be "" to hash the file first.
func (c *Client) PutFile(ctx context.Context, runID, name, path, sum string) (FileResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return FileResult{}, err
	}
	size := fi.Size()
	if sum == "" {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return FileResult{}, fmt.Errorf("hash %s: %w", path, err)
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	u := strings.TrimRight(c.URL, "/") + "/api/v1/runs/" + url.PathEscape(runID) + "/files/" + escapePath(name)
	req, err := c.request(ctx, http.MethodPut, u, io.NewSectionReader(f, 0, size))
	if err != nil {
		return FileResult{}, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("X-Runlog-Sha256", sum)
	hc := c.HTTP
	if hc == nil {
		hc = uploadHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return FileResult{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return FileResult{}, fmt.Errorf("read the server's answer: %w", err)
	}
	var ans struct {
		Size         *int64 `json:"size"`
		SHA256       string `json:"sha256"`
		Deduplicated bool   `json:"deduplicated"`
		Error        string `json:"error"`
	}
	jerr := json.Unmarshal(data, &ans)
	if resp.StatusCode == http.StatusOK && jerr == nil && ans.Size != nil && *ans.Size == size && ans.SHA256 == sum {
		return FileResult{Size: size, SHA256: sum, Deduplicated: ans.Deduplicated}, nil
	}
	msg := ans.Error
	if jerr != nil || msg == "" {
		msg = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	if resp.StatusCode == http.StatusOK {
		msg = fmt.Sprintf("%s did not acknowledge %s (it answered %q)", c.URL, name, msg)
		return FileResult{}, &StatusError{Code: http.StatusBadGateway, Message: msg}
	}
	return FileResult{}, &StatusError{Code: resp.StatusCode, Message: msg}
}

// escapePath escapes each part of a slash-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// RunArtifacts returns the artifacts a run folder's logs register, in the
// order they were registered (run.log, then the attached writers' logs).
func RunArtifacts(dir string) ([]runfmt.Artifact, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []runfmt.Artifact
	for _, en := range entries {
		name := en.Name()
		if en.IsDir() || !ValidStream(name) || IsText(name) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		r := runfmt.NewReaderAt(bytes.NewReader(data), name, 0)
		for {
			rec, err := r.Next()
			if err != nil {
				break // the end, or a torn tail: what came before stands
			}
			if rec.Type != runfmt.TypeArtifact {
				continue
			}
			var a runfmt.Artifact
			if json.Unmarshal(rec.Payload, &a) == nil && a.Path != "" {
				runfmt.NumberValue(a.Metadata)
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// SyncFiles sends the files of the run folder dir (run id) that the
// server lacks: those the policy chooses among its registered artifacts
// (Select), its media files and what its uploads.json holds queued (a
// client's background upload cut short). Each acknowledgment is recorded
// in uploads.json, so that a second call sends nothing. A file deleted
// since it was registered is skipped; one the server refuses (400: it
// changed since) is reported to each and skipped; any other error stops
// it, with what was done recorded. each, if set, is told of every file
// sent or refused. It returns the bytes sent.
func (c *Client) SyncFiles(ctx context.Context, dir, id string, policy Policy, each func(path string, res FileResult, err error)) (int64, error) {
	if policy == PolicyNone {
		return 0, nil
	}
	if each == nil {
		each = func(string, FileResult, error) {}
	}
	st, err := LoadUploads(dir)
	if err != nil {
		each(UploadsFile, FileResult{}, fmt.Errorf("%w; sending the files again", err))
	}
	if st.URL != c.URL {
		st.Acked = map[string]string{} // another server acknowledged those
		st.URL = c.URL
	}
	arts, err := RunArtifacts(dir)
	if err != nil {
		return 0, err
	}
	for _, a := range Select(policy, arts) {
		if a.SHA256 != "" && runfs.CheckName(a.Path) == nil {
			st.Add(PendingFile{Path: a.Path, Size: a.Size, SHA256: a.SHA256})
		}
	}
	media, err := mediaFiles(dir)
	if err != nil {
		return 0, err
	}
	for _, m := range media {
		if _, ok := st.Acked[m]; !ok {
			st.Add(PendingFile{Path: m}) // hashed as it is sent
		}
	}
	var sent int64
	for _, f := range slices.Clone(st.Pending) {
		res, err := c.PutFile(ctx, id, f.Path, filepath.Join(dir, filepath.FromSlash(f.Path)), f.SHA256)
		var se *StatusError
		switch {
		case err == nil:
			st.Drop(f)
			st.Acked[f.Path] = res.SHA256
			if !res.Deduplicated {
				sent += res.Size
			}
			each(f.Path, res, nil)
		case errors.Is(err, fs.ErrNotExist):
			st.Drop(f) // deleted since it was registered (runlog checkpoints --keep-last)
		case errors.As(err, &se) && se.Code == http.StatusBadRequest:
			each(f.Path, FileResult{}, err)
			st.Drop(f)
		default:
			return sent, errors.Join(fmt.Errorf("send %s: %w", f.Path, err), st.Save(dir))
		}
	}
	return sent, st.Save(dir)
}

// mediaFiles lists the files under a run folder's media/, slash-separated
// and relative to the run folder.
func mediaFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, runfmt.MediaFolder), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}
