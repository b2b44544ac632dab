package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/llamagate/llamagate/ggufgen"
)

// demoModelID is the id of the random-weight model written into an empty
// models folder, so `make run` serves something with no download.
const demoModelID = "llamagate-demo"

// chatMLTemplate is the ChatML chat format as a Jinja template, so the demo
// model works with /v1/chat/completions too.
const chatMLTemplate = `{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`

// writeDemoModel writes the demo model into dir unless the folder already
// holds a .gguf file.
func writeDemoModel(dir string, log *slog.Logger) error {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(matches) > 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the models folder: %w", err)
	}
	path := filepath.Join(dir, demoModelID+".gguf")
	err := ggufgen.WriteFile(path, ggufgen.Options{
		Shape:        ggufgen.ShapeDemo,
		Type:         ggufgen.Q8_0,
		Seed:         1,
		Name:         "llamagate demo (random weights)",
		ChatTemplate: chatMLTemplate,
	})
	if err != nil {
		return fmt.Errorf("writing the demo model: %w", err)
	}
	log.Warn("THE MODELS FOLDER WAS EMPTY: wrote a DEMO model with RANDOM WEIGHTS; its output is NOISE",
		"model", demoModelID, "path", path,
		"how_to_add_a_real_model", "put any GGUF file into "+dir+" (see the README for a download command) and restart; the demo file can be deleted")
	return nil
}
