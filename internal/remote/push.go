package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// PushResult says what Push did.
type PushResult struct {
	Sent int64 // bytes sent and acknowledged
	Size int64 // bytes the server holds once done
}

// Push sends the whole records of the local file path, stream of run
// runID, that the server does not hold yet, and returns once the server
// has them all (or on the first error). It can be interrupted at any point
// and run again.
func (c *Client) Push(ctx context.Context, path, runID, stream string) (PushResult, error) {
	var res PushResult
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	size, err := c.Size(ctx, runID, stream)
	if err != nil {
		return res, fmt.Errorf("ask the server for %s of run %s: %w", stream, runID, err)
	}
	res.Size = size
	var buf []byte
	for conflicts := 0; ; {
		batch, err := ReadBatch(f, stream, size, buf)
		if err != nil {
			return res, err
		}
		buf = batch[:cap(batch)]
		if len(batch) == 0 {
			return res, nil
		}
		n, err := c.Append(ctx, runID, stream, size, batch)
		var ce *ConflictError
		if errors.As(err, &ce) && conflicts < 3 {
			conflicts++
			size, res.Size = ce.Size, ce.Size
			continue
		}
		if err != nil {
			return res, fmt.Errorf("send %s of run %s from offset %d: %w", stream, runID, size, err)
		}
		res.Sent += n - size
		size, res.Size = n, n
	}
}
