package main

import (
	"strings"
	"testing"
	"time"

	"github.com/llamagate/llamagate/config"
)

// An unknown tool_format names the formats there are, so a typo is fixed
// from the message alone.
func TestUnknownToolFormatListsTheFormats(t *testing.T) {
	cfg := config.Default()
	_, err := configSpec(cfg, config.Model{ID: "m", Path: "m.gguf", ToolFormat: "hermess", Line: 4}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), `line 4: models[m].tool_format: unknown format "hermess"`) ||
		!strings.Contains(err.Error(), "generic, glm, granite, harmony, hermes") {
		t.Fatalf("err = %v", err)
	}
	if _, err := configSpec(cfg, config.Model{ID: "m", Path: "m.gguf", ToolFormat: "hermes"}, time.Minute); err != nil {
		t.Fatal(err)
	}
}
