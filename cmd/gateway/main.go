// Command llamagate is an OpenAI-compatible gateway that serves GGUF models
// with llama.cpp in its own process.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llamagate/llamagate/auth"
	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/backends/llamacpp/amx"
	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/cpus"
	"github.com/llamagate/llamagate/internal/variant"
	"github.com/llamagate/llamagate/metrics"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/ratelimit"
	"github.com/llamagate/llamagate/router"
)

func main() {
	// A portable bundle's baseline binary hands over to the build for the
	// best CPU target here before anything else runs (internal/variant).
	cpuVariant = variant.Exec()
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, hooks{}))
}

// cpuVariant says which CPU build is running and why (logged at start).
var cpuVariant = "this build"

// realMain runs a subcommand or the gateway and returns the exit status.
// SIGINT and SIGTERM start a graceful drain; a drained exit is 0.
func realMain(args []string, stdin io.Reader, stdout io.Writer, h hooks) int {
	if len(args) > 0 {
		switch args[0] {
		case "hash-key":
			return hashKey(stdin, stdout)
		case "config":
			return configCommand(args[1:], stdout)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, args, h); err != nil {
		fmt.Fprintln(os.Stderr, "llamagate:", err)
		return 1
	}
	return 0
}

type flags struct {
	addr, modelsDir, configPath, logLevel, logFormat string
	threads, ctxSize, parallel                       int
	demoIfEmpty, insecureNoAuth                      bool
}

func parseFlags(args []string) (flags, map[string]bool, error) {
	var f flags
	fs := flag.NewFlagSet("llamagate", flag.ContinueOnError)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.modelsDir, "models-dir", "./models", "folder whose *.gguf files are served (id = file name without .gguf)")
	fs.StringVar(&f.configPath, "config", "", "YAML configuration file")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads per model (0: the CPU quota or the physical cores, whichever is lower)")
	fs.IntVar(&f.ctxSize, "ctx-size", 0, "context tokens per sequence (0: the model's trained context, at most 4096)")
	fs.IntVar(&f.parallel, "parallel", 0, "sequences each model decodes together (0: 4)")
	fs.BoolVar(&f.demoIfEmpty, "demo-model-if-empty", false, "write a small random-weight demo model when the models folder has none")
	fs.BoolVar(&f.insecureNoAuth, "insecure-no-auth", false, "allow serving a non-loopback address with no API keys configured")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: llamagate [flags]\n       llamagate hash-key < secret\n       llamagate config check FILE | config print [--config FILE] [flags]\n\nEvery flag can also be set as LLAMAGATE_<NAME> (e.g. LLAMAGATE_MODELS_DIR); a flag wins over the environment, which wins over the config file.\n\n")
		fs.PrintDefaults()
	}
	set := map[string]bool{}
	// The environment first, so flags given on the command line win.
	var envErr error
	fs.VisitAll(func(fl *flag.Flag) {
		name := "LLAMAGATE_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := fs.Set(fl.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", name, err)
			}
			set[fl.Name] = true
		}
	})
	if envErr != nil {
		return f, nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return f, nil, err
	}
	if fs.NArg() > 0 {
		return f, nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
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

// hooks let tests observe a running gateway; nil fields are ignored.
type hooks struct {
	ready    chan<- string // receives the listening address once it accepts connections
	reloaded func()        // runs after each registry reload
	started  func()        // runs once the pinned models loaded or failed
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, h hooks) error {
	f, set, err := parseFlags(args)
	if err != nil {
		return err
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	cfg, err := loadConfig(f, set)
	if err != nil {
		return err
	}
	var keys *auth.Keyring
	var limiter *ratelimit.Limiter
	if cfg.Auth.Enabled() {
		if keys, err = auth.NewKeyring(cfg.Auth); err != nil {
			return err
		}
		if limiter, err = ratelimit.Open(cfg.Auth.RateLimitStore, log); err != nil {
			return err
		}
		defer limiter.Close()
		log.Info("API keys required", "keys", keys.Len(), "rate_limit_store", cfg.Auth.RateLimitStore.Type)
	} else if !isLoopback(cfg.Server.Addr) {
		if !f.insecureNoAuth {
			return fmt.Errorf("refusing to serve %s with no API keys: anyone who can reach it could use it; configure auth.keys (docs/limits.md) or pass --insecure-no-auth", cfg.Server.Addr)
		}
		log.Warn("serving a non-loopback address with NO API KEYS (--insecure-no-auth)", "addr", cfg.Server.Addr)
	}

	log.Info("llama.cpp", "system_info", llamacpp.SystemInfo(), "cpu_variant", cpuVariant)
	gpus := gpuBudgets(llamacpp.Devices(), cfg.Cache.GPUHeadroom, log)
	if f.demoIfEmpty {
		if err := writeDemoModel(cfg.ModelsDir, log); err != nil {
			return err
		}
	}
	specs, err := buildSpecs(cfg, log)
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		log.Warn("no models found; put *.gguf files into the models folder or list them in the config", "models_dir", cfg.ModelsDir)
	}
	for _, s := range specs {
		log.Info("model available", "model", s.ID, "path", s.Path, "aliases", s.Aliases, "arch", s.Meta.Architecture,
			"params", s.Meta.Parameters, "file_type", s.Meta.FileType, "estimate", s.Meta.Estimate, "pinned", s.Pinned)
	}
	maxCtx := cfg.Defaults.MaxCtxSize
	cpu := cpus.Detect(cpus.Affinity())
	// Busy models divide this many threads among themselves
	// (llamacpp.CPUShare); a model's own threads setting caps its part.
	share := llamacpp.NewCPUShare(cpu.Threads)
	// Before any model loads: ggml lists the CPU's buffer types once.
	amxStatus := amx.Setup(ctx)
	log.Info("AMX", "enabled", amxStatus.Enabled, "why", amxStatus.Reason)
	log.Info("CPU threads", "default", cpu.Threads, "chosen_from", cpu.Source, "logical", cpu.Logical, "physical", cpu.Physical, "cgroup_quota", cpu.Quota)
	loader := func(ctx context.Context, s models.Spec, progress func(float64)) (engine.Engine, error) {
		mlog := log.With("model", s.ID)
		last := -1
		return llamacpp.Load(ctx, llamacpp.Options{
			Path: s.Path, Threads: cmp.Or(s.Threads, cpu.Threads), ThreadsBatch: cmp.Or(s.ThreadsBatch, s.Threads, cpu.Threads), CPUShare: share, AdaptiveThreads: s.AdaptiveThreads, ThreadPool: s.ThreadPool,
			CtxSize: s.CtxSize, MaxCtxSize: maxCtx,
			Parallel: s.Parallel, BatchSize: s.BatchSize, Offload: offloadOptions(s, gpus, mlog),
			KVUnified: s.KVUnified, KVOvercommit: s.KVOvercommit, QueueSize: s.QueueSize, PrefillBudget: s.PrefillBudget, NoPrefixCache: s.NoPrefixCache,
			Logger: mlog,
			Progress: func(p float32) {
				progress(float64(p))
				if pct := int(p * 10); pct > last { // every 10%
					last = pct
					mlog.Info("loading", "progress", fmt.Sprintf("%d%%", pct*10))
				}
			},
		})
	}
	budget := cfg.Cache.MemoryBudget
	if budget.Bytes == 0 && budget.Percent == 0 {
		budget.Percent = config.DefaultMemoryPercent
	}
	opts := models.Options{
		Loader: loader, Logger: log,
		MaxLoaded:    cmp.Or(cfg.Cache.MaxLoadedModels, config.DefaultMaxLoadedModels),
		MemoryBudget: budget.Resolve(totalMemory()),
		GPUs:         gpus,
		MaxWaiting:   cfg.Cache.MaxWaiting,
		MaxWait:      cfg.Cache.MaxWait.Std(),
		RetryBackoff: cfg.Cache.LoadRetryBackoff.Std(),
	}
	var met *metrics.Metrics
	if cfg.Server.Metrics != "off" {
		met = metrics.New()
	}
	opts.OnLoad = met.Load
	opts.OnEvict = func(id, reason string) { met.Unload(id, reason) }
	log.Info("model cache", "max_loaded_models", max(opts.MaxLoaded, 0), "memory_budget", opts.MemoryBudget)
	mgr := models.NewManager(specs, opts)
	defer mgr.Close()
	met.Register(metrics.NewModelCollector(func() []metrics.ModelState { return modelStates(mgr) }))

	var health readiness
	health.set(false, "starting: loading pinned models")
	// Registered before serving, so a SIGHUP never hits the default action
	// (exit) once the gateway is up.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchRegistry(watchCtx, hup, f.configPath, cfg.ModelsDir, func() ([]models.Spec, error) {
		c, err := loadConfig(f, set)
		if err != nil {
			return nil, err
		}
		return buildSpecs(c, log)
	}, mgr, log, h.reloaded)

	ups := newUpstreams()
	defer ups.close()
	handler := router.New(router.Config{
		Forward:      ups.forward,
		MaxBodyBytes: cfg.Server.MaxBodyBytes, Logger: log, Metrics: met, MetricsScope: cfg.Server.Metrics, Ready: health.get,
		Keys: keys, Limiter: limiter,
		RequestTimeout: cfg.Server.RequestTimeout.Std(), TTFTTimeout: cfg.Server.TTFTTimeout.Std(), StallTimeout: cfg.Server.StallTimeout.Std(),
		KeepAlive: cfg.Server.KeepAlive.Std(),
	}, mgr)
	// Handlers' contexts derive from base; cancelling it with
	// router.ErrShuttingDown ends what is left after the drain timeout with
	// an error event instead of a cut connection.
	base, cancelBase := context.WithCancelCause(context.Background())
	defer cancelBase(nil)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		// No WriteTimeout: it would cut long streams.
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "models", len(specs))
	if h.ready != nil {
		h.ready <- ln.Addr().String()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Pinned models load while the server already answers /health (and
	// /health/ready says 503 until they are in).
	go func() {
		if err := mgr.Start(ctx); err != nil {
			log.Error("a pinned model failed to load", "err", err)
			health.set(false, "a pinned model failed to load: "+err.Error())
		} else {
			health.set(true, "")
		}
		if h.started != nil {
			h.started()
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return drain(srv, cancelBase, &health, cfg.Server.DrainTimeout.Std(), log)
}

// drain stops accepting connections, marks the gateway not ready, and lets
// in-flight requests finish for up to timeout; what is still running then
// ends with a server_shutting_down error event. The models are unloaded by
// the caller's deferred Close.
func drain(srv *http.Server, cancelBase context.CancelCauseFunc, health *readiness, timeout time.Duration, log *slog.Logger) error {
	health.drain()
	log.Info("shutting down: finishing in-flight requests", "drain_timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err == nil {
		log.Info("all requests finished")
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Warn("drain timeout: ending the requests still running")
	cancelBase(router.ErrShuttingDown)
	// Cancelled handlers write their error event and return at the next
	// token; give them a moment, then close what is left.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if srv.Shutdown(ctx2) != nil {
		srv.Close()
	}
	return nil
}

// readiness is what /health/ready reports. Once draining, it stays not
// ready whatever else reports later (a pinned load ending at shutdown).
type readiness struct {
	mu       sync.Mutex
	ok       bool
	reason   string
	draining bool
}

func (r *readiness) set(ok bool, reason string) {
	r.mu.Lock()
	if !r.draining {
		r.ok, r.reason = ok, reason
	}
	r.mu.Unlock()
}

func (r *readiness) drain() {
	r.mu.Lock()
	r.ok, r.reason, r.draining = false, "draining: shutting down", true
	r.mu.Unlock()
}

func (r *readiness) get() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok, r.reason
}

// modelStates snapshots the cache for the metrics.
func modelStates(mgr *models.Manager) []metrics.ModelState {
	list := mgr.List()
	out := make([]metrics.ModelState, 0, len(list))
	for _, st := range list {
		out = append(out, metrics.ModelState{
			ID: st.Spec.ID, State: st.State, Memory: st.Memory, Estimate: st.Spec.Meta.Estimate,
			SlotsBusy: st.SlotsBusy, SlotsTotal: st.SlotsTotal, Queued: st.Queued, Waiting: st.Waiting,
		})
	}
	return out
}

// loadConfig reads the config file, if any, and applies the flags given on
// the command line over it.
func loadConfig(f flags, set map[string]bool) (config.Config, error) {
	cfg := config.Default()
	if f.configPath != "" {
		var err error
		if cfg, err = config.Load(f.configPath); err != nil {
			return cfg, err
		}
	}
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
	return cfg, cfg.Validate()
}
