package llamacpp

/*
#include <stdlib.h>
#include "helpers.h"
*/
import "C"

import (
	"context"
	"log/slog"
	"runtime/cgo"
	"strings"
	"sync"
	"unsafe"

	// The binding compiles and links llama.cpp and ggml; this package calls
	// llama.h directly for what the binding's Go API does not expose
	// (multi-sequence batches, KV sequence operations, the sampler chain).
	"github.com/ollama/ollama/llama"
)

// backendInit runs llama.cpp's process-wide initialisation once: it loads
// GPU backends from <exe dir>/../lib/ollama or OLLAMA_LIBRARY_PATH.
var backendInit = sync.OnceValue(func() string {
	llama.BackendInit()
	C.lg_set_log()
	return C.GoString(C.llama_print_system_info())
})

// SystemInfo initialises llama.cpp if needed and returns its system-info
// line (the CPU features ggml was compiled with), for the start-up log.
func SystemInfo() string { return backendInit() }

// logLine assembles llama.cpp's log fragments into lines. llama.cpp logs
// from any thread, so it has its own lock.
var logLine struct {
	sync.Mutex
	level int
	buf   strings.Builder
}

//export llamagateLog
func llamagateLog(level C.int, text *C.char, _ unsafe.Pointer) {
	s := C.GoString(text)
	logLine.Lock()
	defer logLine.Unlock()
	if level != C.GGML_LOG_LEVEL_CONT && logLine.buf.Len() == 0 {
		logLine.level = int(level)
	}
	logLine.buf.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		return
	}
	msg := strings.TrimRight(logLine.buf.String(), "\n")
	logLine.buf.Reset()
	lvl := slog.LevelDebug
	switch logLine.level {
	case C.GGML_LOG_LEVEL_WARN:
		lvl = slog.LevelWarn
	case C.GGML_LOG_LEVEL_ERROR:
		lvl = slog.LevelError
	}
	slog.Default().Log(context.Background(), lvl, msg, "component", "llama.cpp")
}

//export llamagateProgress
func llamagateProgress(progress C.float, userData unsafe.Pointer) C._Bool {
	h := *(*cgo.Handle)(userData)
	if fn, ok := h.Value().(func(float32)); ok {
		fn(float32(progress))
	}
	return true
}
