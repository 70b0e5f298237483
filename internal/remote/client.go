package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client sends run logs to a runlog server.
type Client struct {
	URL   string // the server's base URL, e.g. http://gpu-box:7707
	Token string // sent as a bearer token when not empty
	Agent string // the X-Runlog-Client header: the client's name/version
	// HTTP is the client to send with; nil means one with a 60 s timeout.
	HTTP *http.Client
}

// StatusError is an answer of the server other than success.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("server answered %d: %s", e.Code, e.Message)
}

// Transient reports whether err may go away by itself: the server is down,
// restarting or overloaded. Other errors (a bad token, a refused batch)
// need a person.
func Transient(err error) bool {
	var se *StatusError
	var ce *ConflictError
	switch {
	case errors.As(err, &se):
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests || se.Code == http.StatusRequestTimeout
	case errors.As(err, &ce):
		return false
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// ConflictError is the server's refusal of a batch that starts after the
// end of its copy: Size is where the client must continue from.
type ConflictError struct {
	Size int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("server holds %d bytes; resend from there", e.Size)
}

// request returns a request to the server that names the client and
// carries the token.
func (c *Client) request(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(ClientHeader, c.Agent)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// defaultHTTP is used when Client.HTTP is nil.
var defaultHTTP = &http.Client{Timeout: 60 * time.Second}

// Append sends body, the bytes of a run's stream from offset on, and
// returns the size of the server's copy once the batch is durable there.
// An empty body at offset 0 only asks for that size. A batch that starts
// after the server's end is refused with a *ConflictError holding the
// server's size.
func (c *Client) Append(ctx context.Context, runID, stream string, offset int64, body []byte) (int64, error) {
	u := strings.TrimRight(c.URL, "/") + "/api/v1/ingest/" + url.PathEscape(runID) + "/" + url.PathEscape(stream) +
		"?offset=" + strconv.FormatInt(offset, 10)
	req, err := c.request(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-runlog")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ans struct {
		Size  *int64 `json:"size"`
		Error string `json:"error"`
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("read the server's answer: %w", err)
	}
	jerr := json.Unmarshal(data, &ans)
	switch {
	case resp.StatusCode == http.StatusOK && jerr == nil && ans.Size != nil:
		return *ans.Size, nil
	case resp.StatusCode == http.StatusConflict && jerr == nil && ans.Size != nil:
		return *ans.Size, &ConflictError{Size: *ans.Size}
	}
	msg := ans.Error
	if jerr != nil || msg == "" {
		msg = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	if resp.StatusCode == http.StatusOK {
		msg = fmt.Sprintf("%s is not a runlog server (it answered %q)", c.URL, msg)
	}
	return 0, &StatusError{Code: resp.StatusCode, Message: msg}
}

// Size returns how many bytes of a run's stream the server holds.
func (c *Client) Size(ctx context.Context, runID, stream string) (int64, error) {
	return c.Append(ctx, runID, stream, 0, nil)
}
