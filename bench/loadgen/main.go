// Command loadgen measures an OpenAI-compatible completions server (made
// for llamagate) under streaming load, and checks every response it gets.
//
//	loadgen -url http://127.0.0.1:8080 -model ID [-mode sweep|mixed]
//	        [-concurrency 1,2,4,8] [-requests N] [-duration D]
//	        [-prompt-tokens N] [-shared-prefix N] [-max-tokens N]
//	        [-label NAME] [-out DIR]
//
// Every request is POST /v1/completions with temperature 0, ignore_eos,
// a fixed max_tokens and stream with include_usage. Each SSE event is
// timestamped on arrival; per request it records the time to the first text
// chunk (TTFT), the gaps between text chunks (ITL), the end-to-end latency,
// and checks the stream: well-formed chunks, one finish_reason "length",
// a usage chunk whose completion_tokens equals max_tokens, then [DONE].
//
// Mode sweep runs each concurrency level in turn: that many clients, each
// sending -requests requests back to back (or until -duration ends). Mode
// mixed runs N-1 clients streaming short prompts while one client sends one
// long prompt (-long-prompt-tokens), and compares the short streams' ITL
// during the long prompt's prefill (from its send to its first token) with
// the ITL outside it.
//
// Results: a Markdown table on stdout and in OUT/LABEL.md, raw JSON in
// OUT/LABEL.json and an SVG chart in OUT/LABEL.svg. Only loopback URLs are
// accepted. Exit status: 0 ok, 1 failure to run, 2 ran but some responses
// had errors or protocol violations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	url, model, mode, label, outDir, note string
	levels                                []int
	requests                              int
	duration, timeout                     time.Duration
	promptTokens, sharedPrefix, maxTokens int
	longPromptTokens, longMaxTokens       int
	longDelay                             time.Duration
	warmup                                int
	calibrate                             bool
	seed                                  uint64
	progress, keepAlive                   bool
	waitHealth                            time.Duration
	freePort                              bool

	endpoint string // the completions URL
	base     string // scheme://host:port
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var levels string
	var seed uint64
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "gateway base URL (loopback only)")
	fs.StringVar(&c.model, "model", "", "model id (required)")
	fs.StringVar(&c.mode, "mode", "sweep", "sweep (concurrency levels in turn) or mixed (short streams + one long prompt)")
	fs.StringVar(&levels, "concurrency", "1,2,4,8", "comma-separated concurrency levels; mixed uses the largest (N-1 short clients + 1 long)")
	fs.IntVar(&c.requests, "requests", 4, "sweep: requests per client per level (0: until -duration ends)")
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "longest time a level (or the mixed run) may start requests (0: no limit, -requests bounds it)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "limit for one request")
	fs.IntVar(&c.promptTokens, "prompt-tokens", 128, "approximate prompt tokens of each request (its own part when -shared-prefix is set)")
	fs.IntVar(&c.sharedPrefix, "shared-prefix", 0, "approximate tokens of a prefix common to all prompts (0: every prompt distinct)")
	fs.IntVar(&c.maxTokens, "max-tokens", 64, "max_tokens of every request (all of them are generated: ignore_eos)")
	fs.IntVar(&c.longPromptTokens, "long-prompt-tokens", 1024, "mixed: approximate tokens of the long prompt")
	fs.IntVar(&c.longMaxTokens, "long-max-tokens", 8, "mixed: max_tokens of the long request")
	fs.DurationVar(&c.longDelay, "long-delay", 2*time.Second, "mixed: when the long prompt is sent after the short streams start; they go on as long again after it ends")
	fs.IntVar(&c.warmup, "warmup", 1, "unmeasured requests before measuring (the first loads the model)")
	fs.BoolVar(&c.calibrate, "calibrate", true, "measure the model's tokens per prompt word first, to size prompts")
	fs.Uint64Var(&seed, "seed", 0, "prompt seed (0: random, so a rerun does not hit the server's prompt cache)")
	fs.StringVar(&c.label, "label", "", "name of the output files (default: MODEL-MODE)")
	fs.StringVar(&c.outDir, "out", "bench/out", "output folder")
	fs.StringVar(&c.note, "note", "", "free text recorded in the outputs")
	fs.BoolVar(&c.progress, "progress", true, "show a progress line on stderr")
	fs.BoolVar(&c.keepAlive, "keepalive", true, "reuse connections (false for servers that close them unannounced, such as llama-server)")
	fs.DurationVar(&c.waitHealth, "wait-health", 0, "only wait until GET /health answers 200 (at most this long), then exit")
	fs.BoolVar(&c.freePort, "free-port", false, "only print a free TCP port on 127.0.0.1, then exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.freePort {
		return c, nil
	}
	u, err := checkLoopbackURL(c.url)
	if err != nil {
		return nil, err
	}
	c.base = strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/")
	c.endpoint = c.base + "/v1/completions"
	if c.waitHealth > 0 {
		return c, nil
	}
	if c.model == "" {
		return nil, errors.New("-model is required")
	}
	for _, f := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("-concurrency: %q is not a number from 1 to 1024", f)
		}
		c.levels = append(c.levels, n)
	}
	switch c.mode {
	case "sweep":
		if c.requests <= 0 && c.duration <= 0 {
			return nil, errors.New("-requests and -duration are both 0: the run would never end")
		}
	case "mixed":
		if maxInt(c.levels) < 2 {
			return nil, errors.New("-mode mixed needs a concurrency of at least 2 (N-1 short clients + 1 long)")
		}
		if c.longPromptTokens < 1 || c.longMaxTokens < 1 {
			return nil, errors.New("-long-prompt-tokens and -long-max-tokens must be positive")
		}
	default:
		return nil, fmt.Errorf("-mode must be sweep or mixed, not %q", c.mode)
	}
	if c.requests < 0 || c.promptTokens < 1 || c.maxTokens < 1 || c.sharedPrefix < 0 || c.warmup < 0 {
		return nil, errors.New("-requests, -warmup and -shared-prefix must be >= 0, -prompt-tokens and -max-tokens >= 1")
	}
	if c.timeout <= 0 {
		return nil, errors.New("-timeout must be positive")
	}
	if c.label == "" {
		c.label = c.model + "-" + c.mode
	}
	if strings.ContainsAny(c.label, `/\`) || c.label == "." || c.label == ".." {
		return nil, fmt.Errorf("-label %q must be a plain file name", c.label)
	}
	c.seed = seed
	if c.seed == 0 {
		c.seed = rand.Uint64() | 1
	}
	return c, nil
}

func realMain(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	if c.freePort {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		fmt.Fprintln(stdout, l.Addr().(*net.TCPAddr).Port)
		l.Close()
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := newLoopbackClient(maxInt(c.levels), c.keepAlive)
	if c.waitHealth > 0 {
		if err := waitHealth(ctx, client, c.base+"/health", c.waitHealth); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		return 0
	}
	rep, err := run(ctx, c, client, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	md := renderMarkdown(rep)
	fmt.Fprint(stdout, md)
	if err := writeOutputs(c.outDir, c.label, rep, md); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	fmt.Fprintf(stderr, "loadgen: wrote %s.{md,json,svg}\n", filepath.Join(c.outDir, c.label))
	if rep.Interrupted {
		fmt.Fprintln(stderr, "loadgen: interrupted; the results are partial")
		return 1
	}
	if rep.Totals.Errors > 0 || rep.Totals.Malformed > 0 {
		fmt.Fprintf(stderr, "loadgen: %d failed requests, %d protocol violations (see Problems)\n", rep.Totals.Errors, rep.Totals.Malformed)
		return 2
	}
	return 0
}

// waitHealth polls GET url until it answers 200 or limit passes.
func waitHealth(ctx context.Context, client *http.Client, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200 within %v (last: %v)", url, limit, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// run performs the calibration, the warm-up and the measurement.
func run(ctx context.Context, c *config, client *http.Client, stderr io.Writer) (*Report, error) {
	rep := newReport(c)
	prog := newProgress(stderr, c.progress)
	q := &requester{client: client, url: c.endpoint, model: c.model, timeout: c.timeout, origin: time.Now(), now: time.Now, onToken: prog.token}
	pm := promptMaker{seed: c.seed, tokensPerWord: 1.3}

	// Calibration: the first request also loads the model.
	if c.calibrate {
		const words = 200
		prog.begin("calibrate", 1, 0)
		r := q.do(ctx, makeWords(mix(c.seed, 3), words), 1)
		prog.request(r)
		prog.end()
		rep.addSetup(r)
		if r.Status != http.StatusOK || r.Usage == nil {
			return nil, fmt.Errorf("calibration request failed: %s", describe(r))
		}
		pm.tokensPerWord = float64(r.Usage.PromptTokens-1) / words // minus BOS
		if pm.tokensPerWord <= 0 {
			pm.tokensPerWord = float64(r.Usage.PromptTokens) / words
		}
	}
	rep.TokensPerWord = pm.tokensPerWord
	if c.warmup > 0 {
		prog.begin("warm-up", c.warmup, 0)
		for i := range c.warmup {
			r := q.do(ctx, pm.prompt(c.sharedPrefix, c.promptTokens, -1, 0, i), c.maxTokens)
			prog.request(r)
			rep.addSetup(r)
			if r.Status != http.StatusOK && i == 0 {
				prog.end()
				return nil, fmt.Errorf("warm-up request failed: %s", describe(r))
			}
		}
		prog.end()
	}

	switch c.mode {
	case "sweep":
		for li, n := range c.levels {
			if ctx.Err() != nil {
				break
			}
			rep.Levels = append(rep.Levels, runLevel(ctx, c, q, pm, prog, li, n))
		}
	case "mixed":
		rep.Mixed = runMixed(ctx, c, q, pm, prog)
	}
	rep.Interrupted = ctx.Err() != nil
	rep.finish()
	return rep, nil
}

// describe is a one-line account of a failed request.
func describe(r *Result) string {
	var parts []string
	if r.Status != 0 {
		parts = append(parts, fmt.Sprintf("status %d", r.Status))
	}
	for _, is := range r.Issues {
		if is.Severity == sevError {
			parts = append(parts, strings.TrimSuffix(is.Kind+": "+is.Detail, ": "))
		}
	}
	if len(parts) == 0 {
		return "no usage"
	}
	return strings.Join(parts, "; ")
}

// Level is one concurrency level of a sweep.
type Level struct {
	Concurrency int        `json:"concurrency"`
	Stats       LevelStats `json:"stats"`
	Requests    []*Result  `json:"requests"`
}

// runLevel runs n clients, each sending requests back to back until it has
// sent c.requests or c.duration has passed since the level started.
func runLevel(ctx context.Context, c *config, q *requester, pm promptMaker, prog *progress, li, n int) *Level {
	total := 0
	if c.requests > 0 {
		total = n * c.requests
	}
	prog.begin(fmt.Sprintf("c=%d", n), total, c.duration)
	start := time.Now()
	var mu sync.Mutex
	var results []*Result
	var wg sync.WaitGroup
	for client := range n {
		wg.Go(func() {
			for i := 0; c.requests == 0 || i < c.requests; i++ {
				if ctx.Err() != nil || (c.duration > 0 && time.Since(start) >= c.duration) {
					return
				}
				r := q.do(ctx, pm.prompt(c.sharedPrefix, c.promptTokens, li, client, i), c.maxTokens)
				r.Client, r.Seq = client, i
				prog.request(r)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	prog.end()
	sortResults(results)
	return &Level{Concurrency: n, Stats: levelStats(results, n, wall.Seconds()), Requests: results}
}

// Mixed is the result of mode mixed.
type Mixed struct {
	Clients      int        `json:"clients"` // short clients + the long one
	StartAtMs    float64    `json:"start_at_ms"`
	WallS        float64    `json:"wall_s"`
	Long         *Result    `json:"long"`
	WindowFromMs float64    `json:"prefill_window_from_ms"` // the long request's send
	WindowToMs   float64    `json:"prefill_window_to_ms"`   // its first token (or its end)
	During       Summary    `json:"itl_during_prefill_ms"`
	Outside      Summary    `json:"itl_outside_prefill_ms"`
	Short        LevelStats `json:"short_stats"`
	Requests     []*Result  `json:"short_requests"`
}

// runMixed streams short requests from n-1 clients; after c.longDelay one
// more client sends a single long prompt; the short clients stop starting
// requests c.longDelay after it ends (or when c.duration is over).
func runMixed(ctx context.Context, c *config, q *requester, pm promptMaker, prog *progress) *Mixed {
	n := maxInt(c.levels)
	m := &Mixed{Clients: n}
	prog.begin(fmt.Sprintf("mixed %d+1", n-1), 0, c.duration)
	start := time.Now()
	m.StartAtMs = durMs(start.Sub(q.origin))
	stopShort := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for client := range n - 1 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopShort:
					return
				default:
				}
				if ctx.Err() != nil || (c.duration > 0 && time.Since(start) >= c.duration) {
					return
				}
				r := q.do(ctx, pm.prompt(0, c.promptTokens, 0, client, i), c.maxTokens)
				r.Client, r.Seq, r.Kind = client, i, "short"
				prog.request(r)
				mu.Lock()
				m.Requests = append(m.Requests, r)
				mu.Unlock()
			}
		})
	}
	sleepCtx(ctx, c.longDelay)
	if ctx.Err() == nil {
		r := q.do(ctx, makeWords(mix(c.seed, 4), pm.words(c.longPromptTokens)), c.longMaxTokens)
		r.Client, r.Kind = n-1, "long"
		prog.request(r)
		m.Long = r
		m.WindowFromMs = r.StartAtMs
		m.WindowToMs = r.EndAtMs
		if r.TTFTMs >= 0 {
			m.WindowToMs = r.StartAtMs + r.TTFTMs
		}
		sleepCtx(ctx, c.longDelay)
	}
	close(stopShort)
	wg.Wait()
	wall := time.Since(start)
	prog.end()
	sortResults(m.Requests)
	m.WallS = wall.Seconds()
	m.Short = levelStats(m.Requests, n-1, m.WallS)
	if m.Long != nil {
		d, o := splitITL(m.Requests, m.WindowFromMs, m.WindowToMs)
		m.During, m.Outside = summarize(d), summarize(o)
	}
	return m
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func sortResults(rs []*Result) {
	// Order by start time, for readable raw output.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].StartAtMs < rs[j].StartAtMs })
}

func maxInt(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
