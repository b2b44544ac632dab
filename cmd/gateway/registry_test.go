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

// thread_pool is off unless set, and a model's own setting beats the
// defaults' either way.
func TestThreadPoolSetting(t *testing.T) {
	on, off := true, false
	cfg := config.Default()
	for _, tc := range []struct {
		defaults, model *bool
		want            bool
	}{
		{nil, nil, false},
		{&on, nil, true},
		{&on, &off, false},
		{nil, &on, true},
	} {
		cfg.Defaults.ThreadPool = tc.defaults
		m := config.Model{ID: "m", Path: "m.gguf"}
		m.ThreadPool = tc.model
		s, err := configSpec(cfg, m, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if s.ThreadPool != tc.want {
			t.Errorf("defaults %v, model %v: thread pool %v, want %v", tc.defaults, tc.model, s.ThreadPool, tc.want)
		}
	}
}
