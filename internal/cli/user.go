package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/accounts"
	"github.com/runlog/runlog/internal/store/backend"
	"github.com/runlog/runlog/internal/store/postgres"
)

// EnvAdminPassword names the environment variable that gives the first
// admin's password when a server with accounts starts on empty accounts.
const EnvAdminPassword = "RUNLOG_ADMIN_PASSWORD"

// accountsFile is the accounts' file in a home, beside the store: not in
// it, since the store is an index that `runlog index --rebuild` makes
// again from the run folders, and accounts cannot be made again.
const accountsFile = "accounts.db"

// openAccounts opens the accounts of a server: those in the PostgreSQL
// database that dsn (or $RUNLOG_STORE) names, else the home's file.
func openAccounts(ctx context.Context, e *env, dsn string) (*accounts.Accounts, func(), error) {
	if addr := backend.Address(dsn); postgres.IsDSN(addr) {
		dsn = addr
	} else {
		dsn = ""
	}
	st, err := openAccountsAt(ctx, e.homeDir(), dsn)
	if err != nil {
		return nil, nil, err
	}
	return accounts.New(st, accounts.Options{}), func() { st.Close() }, nil
}

// openAccountsAt opens the accounts in the PostgreSQL database dsn, or
// in the home's file when dsn is "".
func openAccountsAt(ctx context.Context, home, dsn string) (accounts.Store, error) {
	if dsn != "" {
		return accounts.OpenPostgres(ctx, dsn)
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	return accounts.OpenSQLite(ctx, filepath.Join(home, accountsFile))
}

// cliActor is the audit log's name for changes made with these commands.
func cliActor() accounts.Actor {
	name := "cli"
	if u, err := user.Current(); err == nil {
		name += ":" + u.Username
	}
	return accounts.Actor{Name: name}
}

// accountsCmd adds the --store flag of the accounts' commands and opens
// the accounts for run.
func accountsCmd(e *env, cmd *cobra.Command, run func(ctx context.Context, acc *accounts.Accounts, args []string) error) *cobra.Command {
	var dsn string
	cmd.Flags().StringVar(&dsn, "store", "", "the team server's PostgreSQL database, whose accounts these are (default $"+backend.EnvStore+"; without either, the accounts of the home)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		acc, done, err := openAccounts(cmd.Context(), e, dsn)
		if err != nil {
			return err
		}
		defer done()
		return run(cmd.Context(), acc, args)
	}
	return cmd
}

// readPassword reads a password from the first line of stdin
// (--password-stdin), or makes one; it reports whether it made it.
func readPassword(e *env, fromStdin bool) (string, bool, error) {
	if !fromStdin {
		return accounts.NewPassword(), true, nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", false, errors.New("--password-stdin: no password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

func newUser(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users of a server with accounts (runlog ui/server --accounts)",
		Long: `Manage the people of a server with accounts. These commands reach the
accounts directly — the home's accounts.db, or the team server's PostgreSQL
database with --store or $RUNLOG_STORE — so run them on the server's machine
as the user who runs it. Every change is in the audit log (runlog audit).
A password is made for you and shown once, unless --password-stdin reads it.`,
		Example: `  runlog user add ada                        # prints ada's password, once
  runlog user add bo --admin
  echo "$PASSWORD" | runlog user reset ada --password-stdin
  runlog user disable ada                    # her keys and sessions stop at once
  runlog user list --json`,
	}
	var admin, stdin, asJSON bool
	add := accountsCmd(e, &cobra.Command{Use: "add NAME", Short: "Add a user", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			pw, made, err := readPassword(e, stdin)
			if err != nil {
				return err
			}
			if err := acc.AddUser(ctx, cliActor(), args[0], pw, admin); err != nil {
				return err
			}
			if made {
				fmt.Fprintf(e.stdout, "user %s added; password (shown once): %s\n", args[0], pw)
			} else {
				fmt.Fprintf(e.stdout, "user %s added\n", args[0])
			}
			return nil
		})
	add.Flags().BoolVar(&admin, "admin", false, "the user administers the server: users, projects and every run")
	add.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from stdin's first line instead of making one")
	reset := accountsCmd(e, &cobra.Command{Use: "reset NAME", Short: "Set a user's password, ending its sessions", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			pw, made, err := readPassword(e, stdin)
			if err != nil {
				return err
			}
			if err := acc.ResetPassword(ctx, cliActor(), args[0], pw); err != nil {
				return err
			}
			if made {
				fmt.Fprintf(e.stdout, "user %s: new password (shown once): %s\n", args[0], pw)
			} else {
				fmt.Fprintf(e.stdout, "user %s: password set\n", args[0])
			}
			return nil
		})
	reset.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from stdin's first line instead of making one")
	able := func(use, short string, disabled bool) *cobra.Command {
		return accountsCmd(e, &cobra.Command{Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1)},
			func(ctx context.Context, acc *accounts.Accounts, args []string) error {
				if err := acc.SetDisabled(ctx, cliActor(), args[0], disabled); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "user %s %sd\n", args[0], use)
				return nil
			})
	}
	list := accountsCmd(e, &cobra.Command{Use: "list", Short: "List the users", Args: cobra.NoArgs},
		func(ctx context.Context, acc *accounts.Accounts, _ []string) error {
			us, err := acc.Store().Users(ctx)
			if err != nil {
				return err
			}
			return printList(e, asJSON, us, "NAME\tADMIN\tDISABLED\tCREATED", func(tw io.Writer) {
				for _, u := range us {
					fmt.Fprintf(tw, "%s\t%v\t%v\t%s\n", u.Name, u.Admin, u.Disabled, u.Created.Format(time.RFC3339))
				}
			})
		})
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(add, list, able("disable", "Disable a user: its keys and sessions are refused at once", true),
		able("enable", "Enable a disabled user", false), reset)
	return cmd
}

// printList prints a list of the accounts' commands: v as indented JSON
// ([] for none) with --json, else a table of header's columns whose rows
// writes.
func printList(e *env, asJSON bool, v any, header string, rows func(tw io.Writer)) error {
	if asJSON {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if string(data) == "null" {
			data = []byte("[]")
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", data)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

// serveAccounts opens the accounts of a server with --accounts: the
// team store's database (dsn) or the home's file, and makes the first
// admin on empty accounts, printing its password once unless
// $RUNLOG_ADMIN_PASSWORD gave it.
func serveAccounts(ctx context.Context, e *env, home, dsn string) (*accounts.Accounts, func(), error) {
	st, err := openAccountsAt(ctx, home, dsn)
	if err != nil {
		return nil, nil, err
	}
	acc := accounts.New(st, accounts.Options{})
	given := os.Getenv(EnvAdminPassword)
	pw, err := acc.Bootstrap(ctx, given)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("make the first admin: %w", err)
	}
	switch {
	case pw != "" && given == "":
		fmt.Fprintf(e.unbuffered(), "runlog: made the first user, admin, whose password is shown this once: %s\n(change it with runlog user reset admin; add users with runlog user add)\n", pw)
	case pw != "":
		fmt.Fprintf(e.unbuffered(), "runlog: made the first user, admin, with the password in $%s\n", EnvAdminPassword)
	}
	return acc, func() { st.Close() }, nil
}
