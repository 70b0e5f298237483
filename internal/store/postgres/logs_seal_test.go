package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// s3Endpoint is the tests' S3 server: $RUNLOG_TEST_S3, else one of the
// test's own (weedtest; skipped when weed is not built).
func s3Endpoint(t *testing.T) string {
	t.Helper()
	if e := os.Getenv(weedtest.EnvEndpoint); e != "" {
		return e
	}
	return weedtest.StartT(t).Endpoint
}

// bucket returns a store of the test's own on the S3 server at endpoint:
// a new prefix of one bucket.
func bucket(t *testing.T, endpoint string, opts objstore.Options) *objstore.S3 {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	st, err := objstore.New(objstore.Location{Bucket: "runlog-test", Prefix: name + "-" + hex.EncodeToString(b[:]),
		Endpoint: endpoint, Region: "us-east-1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// openWith opens another handle on the database dsn, as another replica
// does, reading sealed stretches from objects (none if nil).
func openWith(t *testing.T, dsn string, objects postgres.LogObjects) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if objects != nil {
		db.SetLogObjects(objects)
	}
	return db
}

// appendAll appends data to a stream in batches of the given sizes
// (cycled), starting at offset, and returns the stream's size.
func appendAll(t *testing.T, db *postgres.DB, run, stream string, offset int64, data []byte, sizes ...int) int64 {
	t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		size, err := db.AppendLog(context.Background(), run, stream, offset, data[:n], noCheck)
		if err != nil {
			t.Fatal(err)
		}
		offset, data = size, data[n:]
	}
	return offset
}

// streamState is what log_streams and log_segments hold of a stream.
type streamState struct {
	size, sealed     int64
	rows, sealedRows int
	bytes            int64 // the bytes of its rows held in PostgreSQL
}

func stateOf(t *testing.T, db *postgres.DB, run, stream string) streamState {
	t.Helper()
	var s streamState
	err := db.Pool().QueryRow(context.Background(), `SELECT l.size, l.sealed,
			(SELECT count(*) FROM log_segments g WHERE g.run_id = l.run_id AND g.stream = l.stream),
			(SELECT count(*) FROM log_segments g WHERE g.run_id = l.run_id AND g.stream = l.stream AND obj_sha256 IS NOT NULL),
			(SELECT coalesce(sum(length(data)), 0) FROM log_segments g WHERE g.run_id = l.run_id AND g.stream = l.stream)
		FROM log_streams l WHERE run_id = $1 AND stream = $2`, run, stream).Scan(&s.size, &s.sealed, &s.rows, &s.sealedRows, &s.bytes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkReads reads the stream from each offset and compares with want.
func checkReads(t *testing.T, db *postgres.DB, run, stream string, want []byte) {
	t.Helper()
	n := int64(len(want))
	for _, from := range []int64{0, 1, n / 3, n / 2, n - 70_000, n - 1, n} {
		from = max(from, 0)
		if got := readLog(t, db, run, stream, from); !bytes.Equal(got, want[from:]) {
			t.Errorf("%s from %d: read %d bytes, want %d (or other bytes)", stream, from, len(got), n-from)
		}
	}
}

// TestSealLogs seals a stream's stretches into a real S3 server and reads
// it back byte for byte, from this handle and another replica's; a stream
// the index has not read is sealed only as far as it has.
func TestSealLogs(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	st := bucket(t, s3Endpoint(t), objstore.Options{})
	db := openWith(t, dsn, st)
	text := []string{"training.log"}
	const minBytes = 64 << 10

	want := make([]byte, 1_000_000)
	rand.Read(want)
	size := appendAll(t, db, "s1", "training.log", 0, want, 3000, 1, 17_000, 800)
	index := want[:300_000]
	appendAll(t, db, "s1", "run.log", 0, index, 5000)
	// The index has read run.log up to 100,000 bytes.
	if _, err := db.Pool().Exec(ctx, "INSERT INTO streams (run_id, name, cur_offset) VALUES ('s1', 'run.log', 100000)"); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, db, "s1", "training.log")

	stats, err := db.SealLogs(ctx, postgres.SealOptions{MinBytes: minBytes, TextStreams: text})
	if err != nil {
		t.Fatal(err)
	}
	after := stateOf(t, db, "s1", "training.log")
	if after.size != size || after.sealed < size-minBytes-17_000 || after.sealed > size || after.sealedRows != stats.Objects-1 ||
		after.bytes != size-after.sealed {
		t.Errorf("after sealing: %+v (before %+v, %+v); want the stream sealed up to its last %d bytes or less", after, before, stats, minBytes)
	}
	ri := stateOf(t, db, "s1", "run.log")
	if ri.sealed < minBytes || ri.sealed > 100_000 || ri.sealedRows != 1 {
		t.Errorf("run.log: %+v; want it sealed up to the index's offset, 100000, at most", ri)
	}
	if again, err := db.SealLogs(ctx, postgres.SealOptions{MinBytes: minBytes, TextStreams: text}); err != nil || again.Objects != 0 {
		t.Errorf("a second SealLogs = %+v, %v; want nothing to do", again, err)
	}
	checkReads(t, db, "s1", "training.log", want)
	checkReads(t, db, "s1", "run.log", index)
	checkReads(t, openWith(t, dsn, st), "s1", "training.log", want)

	// A replica without the bucket reads what is not sealed, and is told
	// why it cannot read the rest.
	bare := openWith(t, dsn, nil)
	if got := readLog(t, bare, "s1", "training.log", after.sealed); !bytes.Equal(got, want[after.sealed:]) {
		t.Errorf("the bytes not sealed, without a bucket: %d bytes", len(got))
	}
	if _, err := io.ReadAll(bare.OpenLog(ctx, "s1", "training.log", 0)); !errors.Is(err, postgres.ErrSealedUnavailable) {
		t.Errorf("sealed bytes without a bucket: %v, want ErrSealedUnavailable", err)
	}

	// More appends, compaction, and a stream idle long enough is sealed
	// whole: PostgreSQL then holds no byte of it.
	more := make([]byte, 200_000)
	rand.Read(more)
	want = append(want, more...)
	size = appendAll(t, db, "s1", "training.log", size, more, 500)
	if n, err := db.CompactLogs(ctx, 10); err != nil || n != 1 {
		t.Errorf("CompactLogs = %d, %v", n, err)
	}
	checkReads(t, db, "s1", "training.log", want)
	if _, err := db.SealLogs(ctx, postgres.SealOptions{MinBytes: minBytes, Idle: time.Nanosecond, TextStreams: text}); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(t, db, "s1", "training.log"); s.sealed != size || s.bytes != 0 {
		t.Errorf("idle stream: %+v; want all %d bytes sealed", s, size)
	}
	if s := stateOf(t, db, "s1", "run.log"); s.sealed != 100_000 {
		t.Errorf("idle run.log: sealed %d, want the index's 100000", s.sealed)
	}
	checkReads(t, openWith(t, dsn, st), "s1", "training.log", want)
	if _, err := db.AppendLog(ctx, "s1", "training.log", 0, want[:1000], noCheck); err != nil {
		t.Errorf("a batch resent over sealed bytes: %v", err)
	}
	if _, err := db.AppendLog(ctx, "s1", "training.log", 0, bytes.Repeat([]byte("x"), 1000), noCheck); !errors.Is(err, postgres.ErrLogDiffers) {
		t.Errorf("other bytes over sealed bytes: %v, want ErrLogDiffers", err)
	}
}

// TestSealWhileAppending seals and compacts a stream over and over while
// a client appends to it and a reader reads it: every batch is there once,
// at its offset, and every read is a prefix of the stream.
func TestSealWhileAppending(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	st := bucket(t, s3Endpoint(t), objstore.Options{})
	db := openWith(t, dsn, st)
	reader := openWith(t, dsn, st)
	const batches = 1500
	batch := func(i int) []byte {
		return []byte(fmt.Sprintf("<batch %05d %s>", i, strings.Repeat("x", i%700)))
	}
	var want []byte
	for i := range batches {
		want = append(want, batch(i)...)
	}
	opts := postgres.SealOptions{MinBytes: 16 << 10, TextStreams: []string{"training.log"}}

	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(2)
	go func() { // the client
		defer wg.Done()
		defer close(done)
		var offset int64
		for i := range batches {
			size, err := db.AppendLog(ctx, "w", "training.log", offset, batch(i), noCheck)
			if err != nil {
				t.Errorf("batch %d at %d: %v", i, offset, err)
				return
			}
			offset = size
		}
	}()
	go func() { // a replica reading it
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := io.ReadAll(reader.OpenLog(ctx, "w", "training.log", 0))
			if err != nil || !bytes.Equal(got, want[:len(got)]) {
				t.Errorf("a read during sealing: %d bytes, %v; not a prefix of the stream", len(got), err)
				return
			}
		}
	}()
	rounds, sealed := 0, 0
	for running := true; running; rounds++ {
		select {
		case <-done:
			running = false
		default:
		}
		stats, err := db.SealLogs(ctx, opts)
		if err != nil && !errors.Is(err, postgres.ErrSealRace) {
			t.Fatal(err)
		}
		sealed += stats.Objects
		if _, err := db.CompactLogs(ctx, 4); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	opts.Idle = time.Nanosecond
	if _, err := db.SealLogs(ctx, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds sealed %d objects while appending", rounds, sealed)
	if sealed == 0 {
		t.Errorf("nothing was sealed while the client appended")
	}
	if s := stateOf(t, db, "w", "training.log"); s.size != int64(len(want)) || s.sealed != s.size || s.bytes != 0 {
		t.Errorf("after the last seal: %+v; want %d bytes, all sealed", s, len(want))
	}
	checkReads(t, openWith(t, dsn, st), "w", "training.log", want)
}

// TestSealBucketDown stops the S3 server: appends are still acknowledged,
// the bytes not sealed read as before, sealed ones fail with
// ErrSealedUnavailable, sealing fails and leaves the rows alone; once the
// server is back sealing goes on and everything reads.
func TestSealBucketDown(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	weed := weedtest.StartT(t)
	st := bucket(t, weed.Endpoint, objstore.Options{RetryFor: -1})
	db := openWith(t, dsn, st)
	opts := postgres.SealOptions{MinBytes: 64 << 10, TextStreams: []string{"training.log"}}
	want := make([]byte, 300_000)
	rand.Read(want)
	size := appendAll(t, db, "d", "training.log", 0, want, 4000)
	if _, err := db.SealLogs(ctx, opts); err != nil {
		t.Fatal(err)
	}
	sealedBefore := stateOf(t, db, "d", "training.log")

	if err := weed.Stop(); err != nil {
		t.Fatal(err)
	}
	more := make([]byte, 200_000)
	rand.Read(more)
	want = append(want, more...)
	size = appendAll(t, db, "d", "training.log", size, more, 4000)
	other := openWith(t, dsn, st) // nothing of the bucket in memory
	if got := readLog(t, other, "d", "training.log", sealedBefore.sealed); !bytes.Equal(got, want[sealedBefore.sealed:]) {
		t.Errorf("the bytes not sealed, with the bucket down: %d bytes", len(got))
	}
	if _, err := io.ReadAll(other.OpenLog(ctx, "d", "training.log", 0)); !errors.Is(err, postgres.ErrSealedUnavailable) {
		t.Errorf("sealed bytes with the bucket down: %v, want ErrSealedUnavailable", err)
	}
	if _, err := db.SealLogs(ctx, opts); !errors.Is(err, postgres.ErrSealedUnavailable) {
		t.Errorf("SealLogs with the bucket down: %v, want ErrSealedUnavailable", err)
	}
	if s := stateOf(t, db, "d", "training.log"); s.sealed != sealedBefore.sealed || s.size != size {
		t.Errorf("a failed seal changed the stream: %+v, was %+v", s, sealedBefore)
	}

	if err := weed.Restart(); err != nil {
		t.Fatal(err)
	}
	// A SeaweedFS just restarted may answer 500 for a while on a loaded
	// machine: sealing is tried again, as the server's background does.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		stats, err := db.SealLogs(ctx, opts)
		if err == nil && stats.Objects > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SealLogs once the bucket is back: %+v, %v", stats, err)
		}
	}
	if s := stateOf(t, db, "d", "training.log"); s.sealed <= sealedBefore.sealed {
		t.Errorf("sealing did not go on: %+v", s)
	}
	checkReads(t, other, "d", "training.log", want)
}

// TestSealSize measures what sealing reclaims of PostgreSQL: a 50 MB
// run.log of typical points (4 keys a step), appended in 1 MiB rows as
// compaction leaves them, then sealed as a live stream (stretches of 8 MiB)
// and as a finished one (whole). It prints the sizes with -v.
func TestSealSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 50 MB to PostgreSQL and S3")
	}
	ctx := context.Background()
	dsn := pgtest.DB(t)
	st := bucket(t, s3Endpoint(t), objstore.Options{})
	db := openWith(t, dsn, st)
	log := runfmttest.New(runfmt.Header{ID: "size", Name: "size", Time: 1000})
	ids := []uint32{log.Key("train_loss"), log.Key("lr"), log.Key("grad_norm"), log.Key("tokens")}
	points := 0
	for step := int64(0); len(log.Bytes()) < 50_000_000; step++ {
		points += len(ids)
		x := float64(step)
		log.Pairs(step, 1000+x/10, ids, []float64{2.5*math.Exp(-x/1e6) + 0.01*math.Sin(x), 3e-4, 1 + 0.1*math.Cos(x/7), x * 4096})
	}
	data := log.Bytes()
	size := appendAll(t, db, "size", "run.log", 0, data, 1<<20)
	// The index has read all of it (ingest would have, batch by batch).
	if _, err := db.Pool().Exec(ctx, "INSERT INTO streams (run_id, name, cur_offset) VALUES ('size', 'run.log', $1)", size); err != nil {
		t.Fatal(err)
	}
	type row struct {
		when         string
		dataBytes    int64
		relation     int64
		rows, sealed int
	}
	measure := func(when string) row {
		if _, err := db.Pool().Exec(ctx, "VACUUM FULL log_segments"); err != nil {
			t.Fatal(err)
		}
		s := stateOf(t, db, "size", "run.log")
		r := row{when: when, dataBytes: s.bytes, rows: s.rows, sealed: s.sealedRows}
		if err := db.Pool().QueryRow(ctx, "SELECT pg_total_relation_size('log_segments')").Scan(&r.relation); err != nil {
			t.Fatal(err)
		}
		return r
	}
	table := []row{measure("before sealing")}
	if _, err := db.SealLogs(ctx, postgres.SealOptions{}); err != nil {
		t.Fatal(err)
	}
	table = append(table, measure("live: 8 MiB stretches sealed"))
	if _, err := db.SealLogs(ctx, postgres.SealOptions{Idle: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	table = append(table, measure("finished: sealed whole"))
	var b strings.Builder
	fmt.Fprintf(&b, "run.log of %d bytes (%d points):\n", size, points)
	fmt.Fprintf(&b, "%-30s %16s %22s %6s %8s\n", "", "bytes in rows", "log_segments on disk", "rows", "sealed")
	for _, r := range table {
		fmt.Fprintf(&b, "%-30s %16d %22d %6d %8d\n", r.when, r.dataBytes, r.relation, r.rows, r.sealed)
	}
	t.Log("\n" + b.String())
	if last := table[len(table)-1]; last.dataBytes != 0 || table[1].dataBytes >= 8<<20+1<<20 || table[0].dataBytes != size {
		t.Errorf("bytes left in PostgreSQL: %+v", table)
	}
	if got := readLog(t, openWith(t, dsn, st), "size", "run.log", 0); !bytes.Equal(got, data) {
		t.Errorf("the sealed run.log reads back %d bytes, want %d the same", len(got), len(data))
	}
}
