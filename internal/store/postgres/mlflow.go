package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// What the MLflow API keeps on a team server beside the runs (migration
// 006): small documents by name — the experiment registry, one document
// per logged model — that a home keeps as files under <home>/mlflow/.
// Every replica reads and changes them here, a change under the row's lock,
// so that two replicas creating experiments at once never lose one and
// never give two the same id.

// MLflowDocument returns the document name, or nil if there is none.
func (db *DB) MLflowDocument(ctx context.Context, name string) ([]byte, error) {
	var body []byte
	err := db.pool.QueryRow(ctx, "SELECT body FROM mlflow_documents WHERE name = $1", name).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && len(body) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read MLflow's %s: %w", name, db.mapErr(err))
	}
	return body, nil
}

// MLflowDocuments returns the documents whose names start with prefix, by
// name.
func (db *DB) MLflowDocuments(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := db.pool.Query(ctx, "SELECT name, body FROM mlflow_documents WHERE starts_with(name, $1) AND length(body) > 0", prefix)
	if err != nil {
		return nil, fmt.Errorf("list MLflow's %s*: %w", prefix, db.mapErr(err))
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var body []byte
		if err := rows.Scan(&name, &body); err != nil {
			return nil, fmt.Errorf("list MLflow's %s*: %w", prefix, db.mapErr(err))
		}
		out[name] = body
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list MLflow's %s*: %w", prefix, db.mapErr(err))
	}
	return out, nil
}

// UpdateMLflowDocument changes the document name: in one transaction, with
// the document's row locked, fn is given its content (nil if there is
// none) and returns the new content. Of two replicas changing one document
// at once, the second waits for the first and sees what it wrote. If fn
// fails, nothing changes and its error is returned as it is.
func (db *DB) UpdateMLflowDocument(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) error {
	var fnErr error
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO mlflow_documents (name, body) VALUES ($1, '') ON CONFLICT DO NOTHING", name); err != nil {
			return err
		}
		var old []byte
		if err := tx.QueryRow(ctx, "SELECT body FROM mlflow_documents WHERE name = $1 FOR UPDATE", name).Scan(&old); err != nil {
			return err
		}
		if len(old) == 0 {
			old = nil
		}
		body, err := fn(old)
		if err != nil {
			fnErr = err
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE mlflow_documents SET body = $2, updated = now() WHERE name = $1", name, body)
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("write MLflow's %s: %w", name, err)
	}
	return nil
}
