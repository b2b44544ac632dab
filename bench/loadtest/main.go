// Command loadtest hammers a running llamagate with many concurrent
// clients for a fixed time, mixing streamed and whole requests, clients
// that disconnect mid-request, rate-limited keys and broken bodies. It
// checks every response (a stream must end with [DONE] or an error event;
// every error must be an OpenAI envelope) and compares the gateway's
// goroutines, busy slots and RSS after the run with a baseline.
//
//	go run ./bench/loadtest -base http://127.0.0.1:8080 -model stories -clients 300 -duration 5m \
//	    -key SECRET -limited-key SECRET2
//
// bench/loadtest.sh starts a gateway with a suitable config and runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type outcome string

const (
	okStream     outcome = "ok: stream completed"
	okWhole      outcome = "ok: whole response"
	disconnected outcome = "client disconnected on purpose"
	limited      outcome = "429 rate limited (with Retry-After)"
	overloaded   outcome = "503 overloaded (with Retry-After)"
	rejected     outcome = "4xx for a bad body (OpenAI envelope)"
	streamError  outcome = "stream ended with an error event"
	malformed    outcome = "MALFORMED response"
	truncated    outcome = "TRUNCATED stream (no [DONE], no error event)"
	transport    outcome = "transport error"
)

var badBodies = []string{
	`{"model":`,
	`{"model":"MODEL","prompt":5}`,
	`{"model":"MODEL","prompt":"x","max_tokens":100000000}`,
	`{"model":"MODEL","prompt":"x","temperature":"hot"}`,
	`{"model":"nope","prompt":"x"}`,
	"{\"model\":\"MODEL\",\"prompt\":\"\xff\xfe\"}",
	`{"model":"MODEL","messages":[{"role":"wizard","content":"x"}]}`,
	`[1,2,3]`,
}

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "gateway URL")
	model := flag.String("model", "stories", "model id")
	clients := flag.Int("clients", 300, "concurrent clients")
	duration := flag.Duration("duration", 5*time.Minute, "how long to run")
	key := flag.String("key", "", "API key without limits")
	limitedKey := flag.String("limited-key", "", "API key with a small rate limit")
	maxTokens := flag.Int("max-tokens", 32, "max_tokens per request")
	flag.Parse()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: 0}}
	before := scrape(hc, *base, *key)
	fmt.Printf("baseline: goroutines %.0f, RSS %.1f MiB, busy slots %.0f\n", before["go_goroutines"], before["process_resident_memory_bytes"]/(1<<20), before["slots_busy"])

	var mu sync.Mutex
	counts := map[outcome]int{}
	var samples []string
	record := func(o outcome, detail string) {
		mu.Lock()
		counts[o]++
		if (o == malformed || o == truncated || o == transport) && len(samples) < 10 {
			samples = append(samples, string(o)+": "+detail)
		}
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for ctx.Err() == nil {
				one(ctx, hc, rng, *base, *model, *key, *limitedKey, *maxTokens, record)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Let the gateway settle: every cancelled sequence is freed within a
	// step, so wait (bounded) until nothing is busy.
	var after map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; {
		after = scrape(hc, *base, *key)
		if after["slots_busy"] == 0 && after["in_flight"] == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // polling a remote process's metrics
	}
	// Closing our idle connections ends the server's goroutines for them,
	// a moment later; wait (bounded) for the count to come back down, then
	// report what is left.
	hc.CloseIdleConnections()
	for deadline := time.Now().Add(10 * time.Second); ; {
		after = scrape(hc, *base, *key)
		hc.CloseIdleConnections() // the scrape's own connection
		if after["go_goroutines"] <= before["go_goroutines"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // polling a remote process's metrics
	}

	total := 0
	keys := make([]string, 0, len(counts))
	for o, n := range counts {
		total += n
		keys = append(keys, string(o))
	}
	sort.Strings(keys)
	fmt.Printf("\n%d requests in %s from %d clients (%.1f/s)\n\n| outcome | requests |\n|---|---|\n", total, elapsed.Round(time.Second), *clients, float64(total)/elapsed.Seconds())
	for _, k := range keys {
		fmt.Printf("| %s | %d |\n", k, counts[outcome(k)])
	}
	fmt.Printf("\n| after the run | baseline | end |\n|---|---|---|\n")
	fmt.Printf("| goroutines | %.0f | %.0f |\n", before["go_goroutines"], after["go_goroutines"])
	fmt.Printf("| busy slots | %.0f | %.0f |\n", before["slots_busy"], after["slots_busy"])
	fmt.Printf("| requests in flight | %.0f | %.0f |\n", before["in_flight"], after["in_flight"])
	fmt.Printf("| RSS MiB | %.1f | %.1f |\n", before["process_resident_memory_bytes"]/(1<<20), after["process_resident_memory_bytes"]/(1<<20))
	for _, s := range samples {
		fmt.Println("sample:", s)
	}
	bad := counts[malformed] + counts[truncated]
	// The scrape itself holds one connection (one server goroutine).
	leaked := after["go_goroutines"] > before["go_goroutines"]+1
	if bad > 0 || after["slots_busy"] != 0 || after["in_flight"] != 0 || leaked {
		fmt.Println("\nFAIL: malformed or truncated responses, or the gateway did not return to idle")
		os.Exit(1)
	}
}

// one sends one request of a randomly chosen kind and records its outcome.
func one(ctx context.Context, hc *http.Client, rng *rand.Rand, base, model, key, limitedKey string, maxTokens int, record func(outcome, string)) {
	p := rng.IntN(100)
	prompt := fmt.Sprintf("Once upon a time there was a %d", rng.IntN(1000))
	chat := rng.IntN(2) == 0
	stream := p < 45 || (p >= 70 && p < 90)
	body := map[string]any{"model": model, "max_tokens": maxTokens, "stream": stream}
	path := "/v1/completions"
	if chat {
		path = "/v1/chat/completions"
		body["messages"] = []map[string]string{{"role": "user", "content": prompt}}
	} else {
		body["prompt"] = prompt
	}
	b, _ := json.Marshal(body)
	useKey := key
	switch {
	case p >= 90 && p < 95:
		useKey = limitedKey
	case p >= 95:
		b = []byte(strings.ReplaceAll(badBodies[rng.IntN(len(badBodies))], "MODEL", model))
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	disconnectAfter := -1
	if p >= 70 && p < 90 {
		disconnectAfter = rng.IntN(4) // events read before hanging up
	}
	req, _ := http.NewRequestWithContext(rctx, "POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if useKey != "" {
		req.Header.Set("Authorization", "Bearer "+useKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			record(transport, err.Error())
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		data, _ := io.ReadAll(resp.Body)
		var env struct {
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &env) != nil || env.Error == nil || env.Error.Message == "" || env.Error.Type == "" {
			record(malformed, fmt.Sprintf("status %d body %q", resp.StatusCode, data))
			return
		}
		switch {
		case resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "":
			record(limited, "")
			backOff(ctx, rng, resp.Header.Get("Retry-After"))
		case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
			record(overloaded, "")
			backOff(ctx, rng, resp.Header.Get("Retry-After"))
		case resp.StatusCode >= 400 && resp.StatusCode < 500 && p >= 95:
			record(rejected, "")
		default:
			record(malformed, fmt.Sprintf("unexpected status %d: %s", resp.StatusCode, data))
		}
		return
	}
	if !stream {
		data, err := io.ReadAll(resp.Body)
		var v struct {
			Choices []json.RawMessage `json:"choices"`
		}
		if err != nil || json.Unmarshal(data, &v) != nil || len(v.Choices) == 0 {
			if ctx.Err() == nil {
				record(malformed, fmt.Sprintf("whole body %q (%v)", data, err))
			}
			return
		}
		record(okWhole, "")
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	events := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, ":") {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			record(malformed, "line "+line)
			return
		}
		if data == "[DONE]" {
			record(okStream, "")
			return
		}
		var v struct {
			Error *json.RawMessage `json:"error"`
		}
		if json.Unmarshal([]byte(data), &v) != nil {
			record(malformed, "event "+data)
			return
		}
		if v.Error != nil {
			record(streamError, "")
			return
		}
		events++
		if events == disconnectAfter {
			cancel()
			record(disconnected, "")
			return
		}
	}
	if ctx.Err() != nil {
		return // the run ended mid-stream
	}
	record(truncated, fmt.Sprintf("after %d events: %v", events, sc.Err()))
}

// backOff waits as a well-behaved client does after a 429 or 503: a
// random part of Retry-After (so the clients do not come back in step),
// or until the run ends.
func backOff(ctx context.Context, rng *rand.Rand, retryAfter string) {
	secs, err := strconv.Atoi(retryAfter)
	if err != nil || secs < 1 {
		secs = 1
	}
	d := time.Duration(rng.Int64N(int64(min(secs, 5)) * int64(time.Second)))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// scrape reads the few gateway metrics the report compares.
func scrape(hc *http.Client, base, key string) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) != 2 || strings.HasPrefix(line, "#") {
			continue
		}
		var v float64
		fmt.Sscan(f[1], &v)
		name := f[0]
		switch {
		case name == "go_goroutines" || name == "process_resident_memory_bytes":
			out[name] = v
		case strings.HasPrefix(name, "llamagate_model_slots_busy"):
			out["slots_busy"] += v
		case strings.HasPrefix(name, "llamagate_requests_in_flight"):
			out["in_flight"] += v
		}
	}
	return out
}
