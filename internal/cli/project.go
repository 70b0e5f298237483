package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/accounts"
)

func newProject(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project",
		Short: "Manage the projects of a server with accounts, and their members",
		Long: `A project's runs are read by its members — viewers read, writers log runs
and change their own, admins manage members and any run — and, when it is
visible, by every user of the server. A run belongs to the project its
header names (runlog.init(project=…), the MLflow experiment's name); runs
of a project that has no entry here are read by the server's admins only.`,
		Example: `  runlog project add vision
  runlog project add shared --visible
  runlog project member vision ada writer
  runlog project member vision ada none      # removes her
  runlog project list`,
	}
	var visible, asJSON bool
	add := accountsCmd(e, &cobra.Command{Use: "add NAME", Short: "Add a project, private unless --visible", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			v := accounts.Private
			if visible {
				v = accounts.Visible
			}
			if err := acc.AddProject(ctx, cliActor(), args[0], v); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "project %s added (%s)\n", args[0], v)
			return nil
		})
	add.Flags().BoolVar(&visible, "visible", false, "every user of the server reads the project's runs")
	member := accountsCmd(e, &cobra.Command{Use: "member PROJECT USER viewer|writer|admin|none", Short: "Give a user a role in a project, or take it (none)", Args: cobra.ExactArgs(3)},
		func(ctx context.Context, acc *accounts.Accounts, args []string) error {
			var role accounts.Role
			if args[2] != "none" {
				var err error
				if role, err = accounts.ParseRole(args[2]); err != nil {
					return err
				}
			}
			if err := acc.SetMember(ctx, cliActor(), args[0], args[1], role); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s in %s: %s\n", args[1], args[0], args[2])
			return nil
		})
	list := accountsCmd(e, &cobra.Command{Use: "list", Short: "List the projects and their members", Args: cobra.NoArgs},
		func(ctx context.Context, acc *accounts.Accounts, _ []string) error {
			ps, err := acc.Store().Projects(ctx)
			if err != nil {
				return err
			}
			type row struct {
				accounts.Project
				Members []accounts.Member `json:"members"`
			}
			var rows []row
			for _, p := range ps {
				ms, err := acc.Store().Members(ctx, p.Name, "")
				if err != nil {
					return err
				}
				rows = append(rows, row{p, ms})
			}
			return printList(e, asJSON, rows, "PROJECT\tVISIBILITY\tMEMBERS", func(tw io.Writer) {
				for _, r := range rows {
					var members []string
					for _, m := range r.Members {
						members = append(members, m.User+" ("+string(m.Role)+")")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Visibility, strings.Join(members, ", "))
				}
			})
		})
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(add, member, list)
	return cmd
}
