package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llamagate/llamagate/internal/testmodels"
)

// knownFailures are the reference cases ("template.case") this package does
// not reproduce, with the reason; CONFORMANCE.md carries the same list and
// the pass count. A new failure or an unexpected pass fails the test, so the
// list stays exact. All 172 cases pass today.
var knownFailures = map[string]string{}

type refCase struct {
	Messages            []json.RawMessage `json:"messages"`
	Tools               []json.RawMessage `json:"tools"`
	AddGenerationPrompt bool              `json:"add_generation_prompt"`
}

type refCases struct {
	Common   map[string]json.RawMessage `json:"common"`
	FixedNow string                     `json:"fixed_now"`
	Cases    map[string]json.RawMessage `json:"cases"`
}

// refInput builds the render input of one reference case.
func refInput(t testing.TB, all *refCases, raw json.RawMessage) Input {
	t.Helper()
	var c refCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var rest map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rest); err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse("2006-01-02T15:04:05", all.FixedNow)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := MessagesFromOpenAI(c.Messages)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Messages: msgs, AddGenerationPrompt: c.AddGenerationPrompt, Now: now, Extra: map[string]any{}}
	if c.Tools != nil {
		for _, tool := range c.Tools {
			in.Tools = append(in.Tools, tool)
		}
	}
	for k, v := range all.Common {
		switch k {
		case "bos_token", "eos_token":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				t.Fatal(err)
			}
			if k == "bos_token" {
				in.BOS = s
			} else {
				in.EOS = s
			}
		default:
			in.Extra[k] = v
		}
	}
	for k, v := range rest {
		switch k {
		case "messages", "tools", "add_generation_prompt":
		default:
			in.Extra[k] = v
		}
	}
	return in
}

func loadRefCases(t testing.TB) (string, *refCases) {
	path := testmodels.Path(t, "chat-templates/cases.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var all refCases
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(path), &all
}

// errorKind names an error the way the reference's .error files do.
func errorKind(err error) string {
	var re *RaiseError
	var te *Error
	var se *SyntaxError
	switch {
	case errors.As(err, &re):
		return "TemplateError"
	case errors.As(err, &te):
		return te.Kind
	case errors.As(err, &se):
		return "TemplateSyntaxError"
	}
	return "?"
}

// checkCase renders one reference case and returns "" when it matches,
// else what differs. Where the reference raised, the error must be of the
// same class, and raise_exception's message must match too.
func checkCase(t *testing.T, dir string, all *refCases, name, cname string) string {
	src, err := os.ReadFile(filepath.Join(dir, "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	in := refInput(t, all, all.Cases[cname])
	tpl, perr := Parse(string(src))
	var out string
	var rerr error
	if perr != nil {
		rerr = perr
	} else {
		out, rerr = tpl.Render(in)
	}
	base := filepath.Join(dir, "expected", name+"."+cname)
	if want, err := os.ReadFile(base + ".error"); err == nil {
		if rerr == nil {
			return "rendered, but the reference raised " + strings.TrimSpace(string(want))
		}
		kind, msg, _ := strings.Cut(strings.TrimSpace(string(want)), ": ")
		if got := errorKind(rerr); got != kind {
			return "raised " + got + " (" + rerr.Error() + "), the reference " + kind
		}
		var re *RaiseError
		if errors.As(rerr, &re) && re.Message != msg {
			return "raised " + re.Message + ", the reference " + msg
		}
		return ""
	}
	want, err := os.ReadFile(base + ".txt")
	if err != nil {
		t.Fatalf("no expected output for %s.%s", name, cname)
	}
	if rerr != nil {
		return "failed: " + rerr.Error()
	}
	if out != string(want) {
		return "output differs: " + firstDiff(out, string(want))
	}
	return ""
}

func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf("at byte %d: got %q, want %q", i, snippet(got, lo, i+60), snippet(want, lo, i+60))
}

func snippet(s string, lo, hi int) string {
	hi = min(hi, len(s))
	return s[min(lo, hi):hi]
}

func TestConformance(t *testing.T) {
	dir, all := loadRefCases(t)
	templates, err := filepath.Glob(filepath.Join(dir, "templates", "*.jinja"))
	if err != nil || len(templates) == 0 {
		t.Fatalf("no templates in %s: %v", dir, err)
	}
	var cases []string
	for c := range all.Cases {
		cases = append(cases, c)
	}
	sort.Strings(cases)
	pass, total := 0, 0
	seen := map[string]bool{}
	for _, tp := range templates {
		name := strings.TrimSuffix(filepath.Base(tp), ".jinja")
		for _, c := range cases {
			id := name + "." + c
			seen[id] = true
			total++
			why := checkCase(t, dir, all, name, c)
			_, known := knownFailures[id]
			switch {
			case why == "" && known:
				t.Errorf("%s passes now: remove it from knownFailures and CONFORMANCE.md", id)
			case why == "":
				pass++
			case !known:
				t.Errorf("%s: %s", id, why)
			default:
				t.Logf("known failure %s: %s", id, why)
			}
		}
	}
	for id := range knownFailures {
		if !seen[id] {
			t.Errorf("knownFailures lists %s, which is not a reference case", id)
		}
	}
	t.Logf("%d/%d reference cases pass", pass, total)
	if want := total - len(knownFailures); pass < want {
		t.Errorf("%d/%d pass, CONFORMANCE.md records %d", pass, total, want)
	}
}
