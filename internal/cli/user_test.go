package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAccountsCommands: users, projects, members and keys made with the
// commands are in the home's accounts, each change in the audit log; a key
// is printed once and listed without its secret; bad input is refused.
func TestAccountsCommands(t *testing.T) {
	t.Setenv("RUNLOG_STORE", "")
	home := t.TempDir()
	out := mustRun(t, home, "user", "add", "ada")
	if !strings.Contains(out, "password (shown once): ") {
		t.Errorf("user add: %q", out)
	}
	mustRun(t, home, "project", "add", "lab", "--visible")
	mustRun(t, home, "project", "member", "lab", "ada", "writer")
	out = mustRun(t, home, "key", "add", "ada", "--name", "ci", "--project", "lab", "--expires", "30d")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "rlk_") {
		t.Fatalf("key add: %q", out)
	}
	secret := key[strings.LastIndexByte(key, '_')+1:]
	list := mustRun(t, home, "key", "list", "--json")
	var keys []struct {
		ID       string   `json:"id"`
		Projects []string `json:"projects"`
		Expires  string   `json:"expires"`
	}
	if err := json.Unmarshal([]byte(list), &keys); err != nil || len(keys) != 1 || keys[0].Projects[0] != "lab" || keys[0].Expires == "" || strings.Contains(list, secret) {
		t.Errorf("key list: %s %v", list, err)
	}
	mustRun(t, home, "key", "revoke", keys[0].ID)
	mustRun(t, home, "user", "disable", "ada")
	mustRun(t, home, "user", "enable", "ada")
	out = mustRun(t, home, "user", "reset", "ada")
	if !strings.Contains(out, "new password") {
		t.Errorf("user reset: %q", out)
	}
	if out := mustRun(t, home, "project", "list"); !strings.Contains(out, "ada (writer)") || !strings.Contains(out, "visible") {
		t.Errorf("project list: %q", out)
	}
	audit := mustRun(t, home, "audit")
	for _, want := range []string{"user.add", "project.add", "project.member", "key.add", "key.revoke", "user.disable", "user.enable", "user.reset"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit has no %s:\n%s", want, audit)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "ada"}, "already exists"},
		{[]string{"user", "add", "bad name"}, "user name"},
		{[]string{"project", "member", "lab", "ada", "owner"}, "use viewer, writer or admin"},
		{[]string{"project", "member", "lab", "nobody", "viewer"}, "not found"},
		{[]string{"key", "add", "ada", "--name", "x", "--expires", "soon"}, "30d or 12h"},
		{[]string{"key", "add", "ada"}, "give it a name"},
		{[]string{"key", "revoke", "nope"}, "not found"},
	} {
		if _, _, err := run(t, home, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}
