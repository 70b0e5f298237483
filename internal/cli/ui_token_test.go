package cli

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUIRefusesWeakToken: off loopback a token needs 16 characters, and
// the refusal says how to make one and offers one; --token warns that ps
// shows it, $RUNLOG_TOKEN does not.
func TestUIRefusesWeakToken(t *testing.T) {
	made := regexp.MustCompile(`RUNLOG_TOKEN=[0-9a-f]{32} runlog ui`)
	for _, tt := range []struct {
		name, env string
		args      []string
		want      string
		warned    bool
	}{
		{name: "no token", args: nil, want: "an access token is required"},
		{name: "one character in RUNLOG_TOKEN", env: "x", want: "it has 1 characters, at least 16"},
		{name: "15 characters with --token", args: []string{"--token", "0123456789abcde"}, want: "at least 16", warned: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RUNLOG_TOKEN", tt.env)
			_, stderr, err := run(t, fixtureHome(t), append([]string{"ui", "--addr", "0.0.0.0:0"}, tt.args...)...)
			if err == nil {
				t.Fatal("ui started")
			}
			for _, want := range []string{tt.want, "openssl rand -hex 16"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			if !made.MatchString(err.Error()) {
				t.Errorf("error offers no token: %v", err)
			}
			if warned := strings.Contains(stderr, "--token shows in ps"); warned != tt.warned {
				t.Errorf("ps warning %v, want %v: %q", warned, tt.warned, stderr)
			}
		})
	}
}

// TestUITokenAndBehindTLS: a strong $RUNLOG_TOKEN is taken without a
// warning, and with --behind-tls the login cookie is Secure.
func TestUITokenAndBehindTLS(t *testing.T) {
	const token = "0123456789abcdef0123"
	t.Setenv("RUNLOG_TOKEN", token)
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb, now: time.Now}
	root := newRoot(e)
	root.SetArgs([]string{"--home", fixtureHome(t), "ui", "--addr", "127.0.0.1:0", "--open", "--behind-tls"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ui: %v", err)
		}
	}()
	var login string
	for deadline := time.Now().Add(10 * time.Second); login == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "open "); ok {
				login = rest
			}
		}
	}
	if !strings.Contains(login, "login?token="+token) {
		t.Fatalf("no login address printed:\n%s\n%s", out.String(), errb.String())
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("login cookie with --behind-tls: %v", cs)
	}
	if strings.Contains(errb.String(), "--token") {
		t.Errorf("a warning about --token without --token: %s", errb.String())
	}
}
