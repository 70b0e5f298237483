package display

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text\nand a\ttab", "plain text\nand a\ttab"},
		{"red \x1b[31mX\x1b[0m", "red ␛[31mX␛[0m"},
		{"title \x1b]0;pwned\x07", "title ␛]0;pwned␇"},
		{"over\rwrite", "over␍write"},
		{"csi \u009b31m", `csi \u009b31m`},
		{"del\x7f", "del␡"},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"<script>alert(1)</script>", "<script>alert(1)</script>"},
		{"日本語 ok", "日本語 ok"},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.ContainsAny(Text(tt.in), "\x1b\r\x07\u009b") {
			t.Errorf("Text(%q) keeps a control character", tt.in)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"Once upon a time there was", 10, []string{"Once upon", "a time", "there was"}},
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"two\n\nparagraphs", 20, []string{"two", "", "paragraphs"}},
		{"a\tb", 10, []string{"a   b"}},
		{"日本語日本語", 4, []string{"日本", "語日", "本語"}},
		{"", 5, []string{""}},
	}
	for _, tt := range tests {
		got := Wrap(tt.in, tt.width)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
		for _, l := range got {
			if Width(l) > tt.width {
				t.Errorf("Wrap(%q, %d): line %q is wider", tt.in, tt.width, l)
			}
		}
	}
}
