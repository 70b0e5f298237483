package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/accounts"
)

func newKey(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage the API keys of a server with accounts",
		Long: `Make, list and revoke the API keys that clients send (RUNLOG_TOKEN,
MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_PASSWORD beside the user's name).
A key is shown once, when it is made; the server keeps only its hash. A
revoked key is refused by every replica at its next request. Keys are also
made and revoked in the web UI by their users.`,
		Example: `  runlog key add ada --name laptop                     # writes wherever ada may
  runlog key add ada --name ci --project vision --expires 90d
  runlog key add bo --name dashboards --read-only
  runlog key list ada
  runlog key revoke k3j5qz2a`,
	}
	var name, expires string
	var readOnly, asJSON bool
	var projects []string
	add := accountsCmd(e, &cobra.Command{Use: "add USER", Short: "Make a key for a user and print it, once", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			var until time.Time
			if expires != "" {
				d, err := parseDays(expires)
				if err != nil {
					return err
				}
				until = time.Now().Add(d)
			}
			key, k, err := acc.NewKey(ctx, cliActor(), args[0], name, accounts.KeyScope{ReadOnly: readOnly, Projects: projects}, until)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "key %s of %s (shown once; set it as RUNLOG_TOKEN):\n%s\n", k.ID, k.User, key)
			return nil
		})
	fl := add.Flags()
	fl.StringVar(&name, "name", "", "what the key is for, such as the machine or job (required)")
	fl.BoolVar(&readOnly, "read-only", false, "the key only reads")
	fl.StringSliceVar(&projects, "project", nil, "the key writes only to this project (repeat for more); default: wherever its user may")
	fl.StringVar(&expires, "expires", "", "the key stops working after this long: 30d, 12h (default: never)")
	list := accountsCmd(e, &cobra.Command{Use: "list [USER]", Short: "List keys, of one user or of everyone", Args: cobra.MaximumNArgs(1)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			ks, err := acc.Store().Keys(ctx, user)
			if err != nil {
				return err
			}
			when := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.Format(time.RFC3339)
			}
			return printList(e, asJSON, ks, "ID\tUSER\tNAME\tSCOPE\tEXPIRES\tLAST USED\tREVOKED", func(tw io.Writer) {
				for _, k := range ks {
					scope := "write"
					if k.ReadOnly {
						scope = "read-only"
					} else if len(k.Projects) > 0 {
						scope = "write " + strings.Join(k.Projects, ",")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.User, k.Name, scope, when(k.Expires), when(k.LastUsed), when(k.Revoked))
				}
			})
		})
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	revoke := accountsCmd(e, &cobra.Command{Use: "revoke ID", Short: "Revoke a key: refused at once by every replica", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			if err := acc.RevokeKey(ctx, cliActor(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "key %s revoked\n", args[0])
			return nil
		})
	cmd.AddCommand(add, list, revoke)
	return cmd
}

// parseDays reads a duration that may be in days: "30d", or as
// time.ParseDuration reads it ("12h").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: give a length such as 30d or 12h", s)
	}
	return d, nil
}
