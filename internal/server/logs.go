package server

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfs"
)

// maxTailBytes bounds how much of the end of training.log a tail reads,
// whatever the lines' lengths.
const maxTailBytes = 4 << 20

type logLine struct {
	Time   string `json:"time,omitempty"`
	Stream string `json:"stream,omitempty"`
	Text   string `json:"text"`
}

// getLogs answers the last lines of a run's training.log
// (GET /api/v1/runs/{id}/logs?tail=N). Lines are split into the time and
// stream the runner writes before each; other lines come as text only.
// captured, true when the run has a training.log, is left out when it has
// none: only `runlog run` captures a program's output, so a run a client
// started alone has none, which is not the same as an empty one.
func (s *Server) getLogs(w http.ResponseWriter, r *http.Request) error {
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := intParam(r.URL.Query().Get("tail"), 200, 0, 10000)
	if err != nil {
		return badRequest("tail: %v", err)
	}
	out := struct {
		Lines    []logLine `json:"lines"`
		Captured bool      `json:"captured,omitempty"`
	}{Lines: []logLine{}}
	var lines []string
	switch {
	case s.team != nil:
		if lines, out.Captured, err = s.teamTail(r.Context(), run.ID, n); err != nil {
			return err
		}
	case run.Path != "":
		lines, err = tail(run.Path, layout.TrainingLog, n)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		out.Captured = err == nil
	}
	for _, l := range lines {
		out.Lines = append(out.Lines, parseLogLine(l))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// tail returns the last n complete lines of the file name in the run
// folder dir, opened through runfs, reading backwards from its end, at
// most maxTailBytes.
func tail(dir, name string, n int) ([]string, error) {
	d, err := runfs.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f, fi, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tailOf(f, fi.Size(), n)
}

// tailOf returns the last n complete lines of the end bytes f holds.
func tailOf(f io.ReaderAt, end int64, n int) ([]string, error) {
	if n == 0 || end == 0 {
		return nil, nil
	}
	var data []byte
	chunk := int64(64 << 10)
	for start := end; start > 0 && int64(len(data)) < maxTailBytes; {
		step := min(chunk, start, maxTailBytes-int64(len(data)))
		start -= step
		buf := make([]byte, step)
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return nil, err
		}
		data = append(buf, data...)
		if start == 0 || bytes.Count(data, []byte{'\n'}) > n {
			break
		}
		chunk *= 2
	}
	cut := int64(len(data)) < end // the first line may be cut
	data = bytes.TrimSuffix(data, []byte{'\n'})
	lines := strings.Split(string(data), "\n")
	if cut && len(lines) > 0 {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// parseLogLine splits a line of training.log: "<time>\t<stream>\t<text>".
func parseLogLine(l string) logLine {
	parts := strings.SplitN(l, "\t", 3)
	if len(parts) == 3 && len(parts[0]) >= 20 && parts[0][4] == '-' && (parts[1] == "stdout" || parts[1] == "stderr") {
		return logLine{Time: parts[0], Stream: parts[1], Text: strings.ToValidUTF8(parts[2], "\uFFFD")}
	}
	return logLine{Text: strings.ToValidUTF8(l, "\uFFFD")}
}
