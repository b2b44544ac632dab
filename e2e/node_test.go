package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

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
	g := startChatGateway(t)
	for _, script := range []string{"openai.mjs", "langchain.mjs"} {
		t.Run(script, func(t *testing.T) {
			cmd := exec.CommandContext(testContext(t), node, "--test-reporter=spec", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "LLAMAGATE_BASE_URL="+g.srv.URL, "NO_COLOR=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node %s: %v\n%s", script, err, out)
			}
			t.Logf("node %s:\n%s", script, out)
		})
	}
}
