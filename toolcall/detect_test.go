package toolcall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/internal/testmodels"
)

// wantFormat maps a template (file name without .jinja) to the format
// Detect must pick. Each family's test file adds its rows from init.
var wantFormat = map[string]string{}

func init() {
	for name, f := range map[string]string{
		"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use": "hermes",
		"NousResearch-Hermes-3-Llama-3.1-8B-tool_use":   "hermes",
		"Qwen-Qwen2.5-7B-Instruct":                      "hermes",
		"Qwen-Qwen3-0.6B":                               "hermes",
		"Qwen-QwQ-32B":                                  "hermes",
		"MiMo-VL":                                       "hermes",
		"Reka-Edge":                                     "hermes",
		"Bielik-11B-v3.0-Instruct":                      "hermes",
		"Qwen3-Coder":                                   "qwen3coder",
		"StepFun3.5-Flash":                              "qwen3coder",
		"stepfun-ai-Step-3.5-Flash":                     "qwen3coder",
		"meta-llama-Llama-3.1-8B-Instruct":              "llama3",
		"meta-llama-Llama-3.2-3B-Instruct":              "llama3",
		"fireworks-ai-llama-3-firefunction-v2":          "firefunction",
		"mistralai-Mistral-Nemo-Instruct-2407":          "mistral-nemo",
		"unsloth-mistral-Devstral-Small-2507":           "mistral",
		"mistralai-Ministral-3-14B-Reasoning-2512":      "mistral",
		"meetkai-functionary-medium-v3.1":               "functionary-v3.1",
		"meetkai-functionary-medium-v3.2":               "functionary-v3.2",
		"ibm-granite-granite-3.3-2B-Instruct":           "granite",
		"llama-cpp-rwkv-world":                          "generic",
		"google-gemma-2-2b-it":                          "generic",
		"microsoft-Phi-3.5-mini-instruct":               "generic",
	} {
		wantFormat[name] = f
	}
}

// loadTemplates reads the shared templates; missing data fails under CI
// (where it must be present) and skips elsewhere.
func loadTemplates(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(testmodels.Path(t, "chat-templates/templates"), "*.jinja"))
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".jinja")] = string(b)
	}
	return out
}

func TestDetectTemplates(t *testing.T) {
	tmpls := loadTemplates(t)
	if len(tmpls) != 43 {
		t.Errorf("%d templates, want 43", len(tmpls))
	}
	for name, want := range wantFormat {
		src, ok := tmpls[name]
		if !ok {
			t.Errorf("%s: no such template", name)
			continue
		}
		if got := Detect(src).Name; got != want {
			t.Errorf("%s: Detect = %s, want %s", name, got, want)
		}
	}
	for name, src := range tmpls {
		if _, ok := wantFormat[name]; !ok {
			t.Logf("%s: Detect = %s (no expectation)", name, Detect(src).Name)
		}
	}
}

// TestReasoningOpen checks the prompts the templates render: those whose
// generation prompt opens a block are recognised, the others are not.
func TestReasoningOpen(t *testing.T) {
	loadTemplates(t)
	for name, want := range map[string]bool{
		"Qwen-QwQ-32B":                     false, // without enable_thinking it closes the block it opens
		"StepFun3.5-Flash":                 true,
		"Qwen-Qwen3-0.6B":                  false,
		"Qwen-Qwen2.5-7B-Instruct":         false,
		"meta-llama-Llama-3.1-8B-Instruct": false,
	} {
		b, err := os.ReadFile(filepath.Join(testmodels.Path(t, "chat-templates/expected"), name+".basic.txt"))
		if err != nil {
			t.Fatal(err)
		}
		f := Lookup(wantFormat[name])
		got := f.ReasoningOpen != nil && f.ReasoningOpen(string(b))
		if got != want {
			t.Errorf("%s: ReasoningOpen = %v, want %v", name, got, want)
		}
	}
}
