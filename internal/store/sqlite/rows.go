package sqlite

import (
	"strings"
)

// rowInserter inserts rows into one table many at a time: one statement
// of perStmt rows costs about what one row alone does, and a batch of a
// run that logs a million keys inserts a million series.
type rowInserter struct {
	w     *batchWriter
	head  string // "INSERT INTO t (a, b)"
	cols  int
	args  []any
	rows  int
	group string // "(?, ?)"
}

// perStmt is how many rows one statement inserts: under SQLite's limit
// of 32766 bound values for the widest table written this way.
const perStmt = 256

func newRowInserter(w *batchWriter, head string, cols int) *rowInserter {
	return &rowInserter{w: w, head: head, cols: cols, group: "(?" + strings.Repeat(", ?", cols-1) + ")"}
}

// add queues a row, inserting the queued rows when there are perStmt.
// The values may be reused by the caller once add returns only if they
// are not slices it changes later: byte slices are kept until the flush.
func (ri *rowInserter) add(values ...any) error {
	ri.args = append(ri.args, values...)
	ri.rows++
	if ri.rows == perStmt {
		return ri.flush()
	}
	return nil
}

// flush inserts the queued rows.
func (ri *rowInserter) flush() error {
	if ri.rows == 0 {
		return nil
	}
	q := ri.head + " VALUES " + ri.group + strings.Repeat(", "+ri.group, ri.rows-1)
	st, err := ri.w.stmt(q)
	if err == nil {
		_, err = st.ExecContext(ri.w.ctx, ri.args...)
	}
	clear(ri.args)
	ri.args, ri.rows = ri.args[:0], 0
	return err
}
