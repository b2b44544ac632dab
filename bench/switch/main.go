// Command switch measures what a model switch costs a request: the time to
// first token of a streamed request for a model that is not loaded while
// another one is (max_loaded_models: 1), through the whole gateway on
// loopback, against the in-process floor (llama.cpp loading the same file
// and producing the first token, with no gateway around it).
//
// Warm: the file is in the page cache. Cold: the file's pages are dropped
// with posix_fadvise(DONTNEED) before each run (no root needed; pages
// mapped by a loaded model are not dropped, which is why the other model
// is a different file).
//
//	go run ./bench/switch -model bench/out/models/bench-110m-q8_0.gguf -other ../shared/models/stories260K.gguf
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/router"
)

func main() {
	model := flag.String("model", "", "GGUF file switched to")
	other := flag.String("other", "", "GGUF file loaded before each switch")
	threads := flag.Int("threads", 2, "CPU threads")
	ctxSize := flag.Int("ctx-size", 2048, "context per sequence")
	parallel := flag.Int("parallel", 4, "slots")
	runs := flag.Int("runs", 5, "switches measured per mode")
	flag.Parse()
	if *model == "" || *other == "" {
		fmt.Fprintln(os.Stderr, "switch: -model and -other are required")
		os.Exit(2)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	slog.SetDefault(quiet)
	opts := func(path string) llamacpp.Options {
		return llamacpp.Options{Path: path, Threads: *threads, CtxSize: *ctxSize, Parallel: *parallel, Logger: quiet}
	}

	// The gateway: two models, room for one.
	loader := func(ctx context.Context, s models.Spec, _ func(float64)) (engine.Engine, error) {
		return llamacpp.Load(ctx, opts(s.Path))
	}
	mgr := models.NewManager([]models.Spec{
		{ID: "target", Path: *model, TTL: -1},
		{ID: "other", Path: *other, TTL: -1},
	}, models.Options{Loader: loader, MaxLoaded: 1, Logger: quiet})
	defer mgr.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{Handler: router.New(router.Config{Logger: quiet}, mgr)}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	fmt.Printf("model: %s (%d MiB), threads %d, ctx_size %d × parallel %d\n\n", *model, fileSize(*model)>>20, *threads, *ctxSize, *parallel)
	fmt.Println("| mode | in-process floor: load + first token (median) | gateway switch TTFT (median) | ratio | runs |")
	fmt.Println("|---|---|---|---|---|")
	for _, cold := range []bool{false, true} {
		var floor, sw []time.Duration
		for range *runs {
			// The other model is loaded in the gateway; the target is not,
			// so nothing maps its file and its pages can be dropped.
			ttft(base, "other")
			if cold {
				dropCache(*model)
			} else {
				warmCache(*model)
			}
			floor = append(floor, floorTTFT(opts(*model)))
			if cold {
				dropCache(*model)
			}
			sw = append(sw, ttft(base, "target"))
			if os.Getenv("SWITCH_DEBUG") != "" {
				st, _ := mgr.Get("target")
				fmt.Fprintf(os.Stderr, "switch %s load %s floor %s hot %s\n", sw[len(sw)-1], st.LoadedAt.Sub(st.LoadStarted), floor[len(floor)-1], ttft(base, "target"))
			}
		}
		mode := "warm"
		if cold {
			mode = "cold (page cache dropped)"
		}
		f, s := median(floor), median(sw)
		fmt.Printf("| %s | %s | %s | %.2f | %d |\n", mode, f.Round(time.Millisecond), s.Round(time.Millisecond), float64(s)/float64(f), *runs)
	}
}

// floorTTFT loads the model in process, generates one token and frees it.
func floorTTFT(o llamacpp.Options) time.Duration {
	ctx := context.Background()
	start := time.Now()
	m, err := llamacpp.Load(ctx, o)
	check(err)
	st, err := m.Generate(ctx, engine.Request{Prompt: "Once upon a time", MaxTokens: 1, IgnoreEOS: true})
	check(err)
	for {
		ev, err := st.Next(ctx)
		check(err)
		check(ev.Err)
		if ev.Text != "" || ev.Done {
			break
		}
	}
	d := time.Since(start)
	m.Close()
	return d
}

// ttft sends a streamed completion and returns the time to its first
// event, then reads the rest.
func ttft(base, model string) time.Duration {
	start := time.Now()
	resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(
		`{"model":"`+model+`","prompt":"Once upon a time","max_tokens":1,"ignore_eos":true,"stream":true}`))
	check(err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		check(fmt.Errorf("%s: %d %s", model, resp.StatusCode, b))
	}
	sc := bufio.NewScanner(resp.Body)
	var d time.Duration
	for sc.Scan() {
		if d == 0 && strings.HasPrefix(sc.Text(), "data: ") {
			d = time.Since(start)
		}
	}
	return d
}

func dropCache(path string) {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	check(unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
}

func warmCache(path string) {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	check(err)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	check(err)
	return st.Size()
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "switch:", err)
		os.Exit(1)
	}
}
