package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/accounts"
)

func newAudit(e *env) *cobra.Command {
	var asJSON bool
	var after int64
	var limit int
	cmd := accountsCmd(e, &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log of a server with accounts: who changed what, when, from where",
		Long: `Show the audit log, oldest first: runs created, renamed, archived, deleted
and restored, users, projects, members and roles, keys made and revoked,
logins. Admins see it in the web UI too.`,
		Example: `  runlog audit
  runlog audit --after 120 --json    # the events after seq 120`,
		Args: cobra.NoArgs,
	}, func(ctx context.Context, acc *accounts.Accounts, _ []string) error {
		es, err := acc.Store().Events(ctx, after, limit)
		if err != nil {
			return err
		}
		return printList(e, asJSON, es, "SEQ\tTIME\tWHO\tFROM\tACTION\tTARGET\tDETAIL", func(tw io.Writer) {
			for _, ev := range es {
				from := ev.Addr
				if from == "" {
					from = "-"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.Time.Local().Format(time.DateTime), ev.Actor, from, ev.Action, ev.Target, ev.Detail)
			}
		})
	})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().Int64Var(&after, "after", 0, "show the events after this seq")
	cmd.Flags().IntVar(&limit, "limit", 1000, "show at most this many events")
	return cmd
}
