package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/llamagate/llamagate/internal/testmodels"
	"github.com/llamagate/llamagate/models"
)

// nodeToolsID is stories260K with the Qwen 2.5 (Hermes) chat template and a
// context that holds the template's tool instructions (about 600 tokens in
// stories' small vocabulary) and a call: the Node tool-calling scripts force
// its calls with tool_choice, so the grammar writes them.
const nodeToolsID = "stories-tools"

// The Node SDKs people use (the official openai package and LangChain's
// ChatOpenAI, pinned in e2e/node/package-lock.json) run their scripts in
// e2e/node against a test gateway; each script is a node:test suite.
func TestNodeSDKs(t *testing.T) {
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	missing := func(what string) {
		msg := what + " is missing; install the pinned Node packages with `npm ci --prefix e2e/node` (Node.js 20 or later)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
		missing("e2e/node/node_modules")
	}
	g := startNodeGateway(t)
	for _, s := range []struct {
		script  string
		timeout time.Duration
	}{
		{"openai.mjs", waitTimeout},
		{"langchain.mjs", waitTimeout},
		// Each forced call is 100 to 300 grammar-constrained tokens; with
		// -race and other tests on two shared cores a script took 216 s.
		{"openai-tools.mjs", 8 * time.Minute},
		{"langchain-tools.mjs", 8 * time.Minute},
	} {
		t.Run(s.script, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "--test-reporter=spec", s.script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "LLAMAGATE_BASE_URL="+g.srv.URL, "NO_COLOR=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node %s: %v\n%s", s.script, err, out)
			}
			t.Logf("node %s:\n%s", s.script, out)
		})
	}
}

// startNodeGateway serves stories260K, stories-chat (as startChatGateway
// does) and stories-tools. The template is read from the shared folder; it
// is missing only outside CI, where the test is then skipped.
func startNodeGateway(t *testing.T) *gateway {
	t.Helper()
	tmpl, err := os.ReadFile(testmodels.Path(t, "chat-templates/templates/Qwen-Qwen2.5-7B-Instruct.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	stories := testmodels.Stories260K(t)
	return startGateway(t,
		models.Spec{ID: chatID, Path: stories, Threads: 2, Parallel: 2, CtxSize: 512, ChatTemplate: string(tmpl)},
		models.Spec{ID: nodeToolsID, Path: stories, Threads: 2, Parallel: 2, CtxSize: 2048, ChatTemplate: string(tmpl)},
	)
}
