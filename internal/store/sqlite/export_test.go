package sqlite

import "fmt"

// SetMaxPagesForTest limits the size of the store's file, as a full disk
// would.
func SetMaxPagesForTest(db *DB, pages int) error {
	_, err := db.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages))
	return err
}

// IntegrityCheck runs SQLite's integrity check.
func IntegrityCheck(db *DB) (string, error) {
	var res string
	err := db.r.QueryRow("PRAGMA integrity_check").Scan(&res)
	return res, err
}

// QueryRowForTest runs a one-row query on the read pool.
func QueryRowForTest(db *DB, q string, dst any) error {
	return db.r.QueryRow(q).Scan(dst)
}
