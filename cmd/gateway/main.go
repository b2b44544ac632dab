// Command llamagate is an OpenAI-compatible gateway that serves GGUF models
// with llama.cpp in its own process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/router"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "llamagate:", err)
		os.Exit(1)
	}
}

type flags struct {
	addr, modelsDir, configPath, logLevel, logFormat string
	threads, ctxSize, parallel                       int
	demoIfEmpty                                      bool
}

func parseFlags(args []string) (flags, map[string]bool, error) {
	var f flags
	fs := flag.NewFlagSet("llamagate", flag.ContinueOnError)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.modelsDir, "models-dir", "./models", "folder whose *.gguf files are served (id = file name without .gguf)")
	fs.StringVar(&f.configPath, "config", "", "YAML configuration file")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads per model (0: number of cores)")
	fs.IntVar(&f.ctxSize, "ctx-size", 0, "context tokens per sequence (0: the model's trained context, at most 4096)")
	fs.IntVar(&f.parallel, "parallel", 0, "sequences each model decodes together (0: 4)")
	fs.BoolVar(&f.demoIfEmpty, "demo-model-if-empty", false, "write a small random-weight demo model when the models folder has none")
	if err := fs.Parse(args); err != nil {
		return f, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return f, set, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address once the server accepts connections (tests use it).
func run(ctx context.Context, args []string, ready chan<- string) error {
	f, set, err := parseFlags(args)
	if err != nil {
		return err
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	cfg := config.Default()
	if f.configPath != "" {
		if cfg, err = config.Load(f.configPath); err != nil {
			return err
		}
	}
	// Flags given on the command line win over the file.
	if set["addr"] {
		cfg.Server.Addr = f.addr
	}
	if set["models-dir"] {
		cfg.ModelsDir = f.modelsDir
	}
	if set["threads"] {
		cfg.Defaults.Threads = f.threads
	}
	if set["ctx-size"] {
		cfg.Defaults.CtxSize = f.ctxSize
	}
	if set["parallel"] {
		cfg.Defaults.Parallel = f.parallel
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	log.Info("llama.cpp", "system_info", llamacpp.SystemInfo())
	if f.demoIfEmpty {
		if err := writeDemoModel(cfg.ModelsDir, log); err != nil {
			return err
		}
	}
	specs, err := models.ScanDir(cfg.ModelsDir)
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		log.Warn("no models found; put *.gguf files into the models folder", "models_dir", cfg.ModelsDir)
	}
	for i := range specs {
		applyDefaults(&specs[i], cfg.Defaults)
		log.Info("model available", "model", specs[i].ID, "path", specs[i].Path)
	}
	loader := func(ctx context.Context, s models.Spec) (engine.Engine, error) {
		return llamacpp.Load(ctx, llamacpp.Options{
			Path: s.Path, Threads: s.Threads, CtxSize: s.CtxSize, MaxCtxSize: cfg.Defaults.MaxCtxSize,
			Parallel: s.Parallel, BatchSize: s.BatchSize, GPULayers: s.GPULayers,
			KVUnified: s.KVUnified, KVOvercommit: s.KVOvercommit, QueueSize: s.QueueSize, PrefillBudget: s.PrefillBudget, NoPrefixCache: s.NoPrefixCache,
			Logger: log.With("model", s.ID),
		})
	}
	mgr := models.NewManager(specs, loader, log)
	defer mgr.Close()

	handler := router.New(router.Config{MaxBodyBytes: cfg.Server.MaxBodyBytes, Logger: log}, mgr)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// No WriteTimeout: it would cut long streams.
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "models", len(specs))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// applyDefaults gives a model from the models folder the configured
// defaults.
func applyDefaults(s *models.Spec, d config.ModelOpts) {
	s.Threads, s.CtxSize, s.Parallel, s.BatchSize, s.GPULayers = d.Threads, d.CtxSize, d.Parallel, d.BatchSize, d.GPULayers
	s.KVUnified = d.KVUnified != nil && *d.KVUnified
	s.KVOvercommit = d.KVOvercommit
	s.QueueSize, s.PrefillBudget = d.QueueSize, d.PrefillBudget
	s.NoPrefixCache = d.PrefixCache != nil && !*d.PrefixCache
}
