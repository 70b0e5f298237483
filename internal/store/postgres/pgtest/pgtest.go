// Package pgtest gives tests (and benchmarks) a real PostgreSQL: the server named by the
// environment variable RUNLOG_TEST_POSTGRES (a DSN), or else a throwaway
// cluster it creates with initdb in a temporary folder, on a free port of
// 127.0.0.1, and stops when the tests end. Each test gets a database of its
// own. Tests skip, saying why, only when PostgreSQL is not installed at all.
//
// PostgreSQL refuses to run as root: as root, the cluster is created and
// run as the user "postgres" (or "nobody") through runuser, in a folder
// that user owns.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable that points the tests at an
// existing PostgreSQL server, whose user may create databases.
const EnvDSN = "RUNLOG_TEST_POSTGRES"

// Cluster is a PostgreSQL cluster this package started.
type Cluster struct {
	Dir  string // the data folder, which holds the socket too
	Port int
	bin  string // the folder of initdb, pg_ctl and postgres
	as   string // the user the server runs as; "" for this process's
	// settings are the server's own, "name=value" each.
	settings []string
}

// DSN returns the cluster's address for database db.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://runlog@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Bin returns the folder of PostgreSQL's server programs (initdb, pg_ctl),
// or "" if PostgreSQL is not installed.
func Bin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	return ""
}

// Start creates and starts a new cluster in a temporary folder, with the
// server settings given ("name=value", as postgres -c takes them).
func Start(settings ...string) (*Cluster, error) {
	bin := Bin()
	if bin == "" {
		return nil, errors.New("PostgreSQL is not installed: no initdb on PATH, from pg_config --bindir or in /usr/lib/postgresql")
	}
	dir, err := os.MkdirTemp("", "runlog-pg-*")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: filepath.Join(dir, "data"), bin: bin, settings: settings}
	if os.Geteuid() == 0 {
		c.as = "nobody"
		if _, err := user.Lookup("postgres"); err == nil {
			c.as = "postgres"
		}
		u, err := user.Lookup(c.as)
		if err != nil {
			return nil, fmt.Errorf("postgres refuses root and there is no user %s to run it as: %w", c.as, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if out, err := c.run("initdb", "-D", c.Dir, "-U", "runlog", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := c.Restart(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// Restart starts the cluster's server again after Stop, on a new free
// port the first time and on the same port afterwards.
func (c *Cluster) Restart() error {
	if c.Port == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.Port = port
	}
	// fsync off: a test cluster is thrown away, and a shared disk is slow.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.Port, c.Dir)
	for _, s := range c.settings {
		opts += " -c " + s
	}
	if out, err := c.run("pg_ctl", "-D", c.Dir, "-o", opts, "-l", filepath.Join(c.Dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// Stop stops the server, fast: open sessions are ended.
func (c *Cluster) Stop() error {
	if out, err := c.run("pg_ctl", "-D", c.Dir, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Remove stops the server and deletes its folder.
func (c *Cluster) Remove() error {
	err := c.Stop()
	return errors.Join(err, os.RemoveAll(filepath.Dir(c.Dir)))
}

func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	dbCount    atomic.Int64
)

// server returns the DSN of the tests' server, for its maintenance
// database: RUNLOG_TEST_POSTGRES, or the shared cluster, started on first
// use.
func server(t testing.TB) string {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		if Bin() == "" {
			t.Skipf("skipped: %v; install Debian's postgresql or set %s to a server's DSN", sharedErr, EnvDSN)
		}
		t.Fatalf("start a PostgreSQL for the tests: %v", sharedErr)
	}
	return shared.DSN("postgres")
}

// Main runs a test binary's tests and then stops the cluster they
// started, if any: call it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Remove(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// DB creates an empty database for one test and returns its DSN; the
// database is dropped when the test ends.
func DB(t testing.TB) string {
	t.Helper()
	admin := server(t)
	name := fmt.Sprintf("runlog_test_%d_%d", os.Getpid(), dbCount.Add(1))
	dsn, err := CreateDatabase(context.Background(), admin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := DropDatabase(context.Background(), admin, name); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// CreateDatabase creates the database name on the server admin names and
// returns its DSN.
func CreateDatabase(ctx context.Context, admin, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return withDatabase(admin, name), nil
}

// DropDatabase drops the database name, ending its sessions.
func DropDatabase(ctx context.Context, admin, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns dsn naming database db.
func withDatabase(dsn, db string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db // the key=value form: the last setting wins
}
