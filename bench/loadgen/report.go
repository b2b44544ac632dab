package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Report is everything a run produced; it is written as LABEL.json.
type Report struct {
	Label         string       `json:"label"`
	Date          string       `json:"date_utc"`
	NProc         int          `json:"nproc"`
	CPUModel      string       `json:"cpu_model"`
	Platform      string       `json:"platform"`
	Command       string       `json:"command"`
	Note          string       `json:"note,omitempty"`
	Config        ReportConfig `json:"config"`
	TokensPerWord float64      `json:"tokens_per_word"`
	Setup         []*Result    `json:"setup_requests"` // calibration and warm-up, not measured
	Levels        []*Level     `json:"levels,omitempty"`
	Mixed         *Mixed       `json:"mixed,omitempty"`
	Totals        Totals       `json:"totals"`
	Problems      []Problem    `json:"problems"`
	Interrupted   bool         `json:"interrupted"`
}

// ReportConfig records the settings of a run.
type ReportConfig struct {
	URL              string  `json:"url"`
	Model            string  `json:"model"`
	Mode             string  `json:"mode"`
	Concurrency      []int   `json:"concurrency"`
	RequestsPerLevel int     `json:"requests_per_client"`
	DurationS        float64 `json:"duration_limit_s"`
	TimeoutS         float64 `json:"request_timeout_s"`
	PromptTokens     int     `json:"prompt_tokens"`
	SharedPrefix     int     `json:"shared_prefix_tokens"`
	MaxTokens        int     `json:"max_tokens"`
	LongPromptTokens int     `json:"long_prompt_tokens,omitempty"`
	LongMaxTokens    int     `json:"long_max_tokens,omitempty"`
	LongDelayS       float64 `json:"long_delay_s,omitempty"`
	Warmup           int     `json:"warmup"`
	Seed             uint64  `json:"seed"`
}

// Totals counts over every request of the run, setup included.
type Totals struct {
	Requests  int `json:"requests"`
	Errors    int `json:"failed_requests"`
	Malformed int `json:"malformed"`
	Warnings  int `json:"warnings"`
}

// Problem is one kind of issue with how often it happened.
type Problem struct {
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Count    int    `json:"count"`
	Example  string `json:"example,omitempty"`
	Where    string `json:"where"` // the phases it occurred in
}

func newReport(c *config) *Report {
	r := &Report{
		Label:    c.label,
		Date:     time.Now().UTC().Format("2006-01-02 15:04:05 UTC"),
		NProc:    runtime.NumCPU(),
		CPUModel: cpuModel(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Command:  commandLine(os.Args),
		Note:     c.note,
		Config: ReportConfig{
			URL: c.url, Model: c.model, Mode: c.mode, Concurrency: c.levels,
			RequestsPerLevel: c.requests, DurationS: c.duration.Seconds(), TimeoutS: c.timeout.Seconds(),
			PromptTokens: c.promptTokens, SharedPrefix: c.sharedPrefix, MaxTokens: c.maxTokens,
			Warmup: c.warmup, Seed: c.seed,
		},
	}
	if c.mode == "mixed" {
		r.Config.LongPromptTokens, r.Config.LongMaxTokens = c.longPromptTokens, c.longMaxTokens
		r.Config.LongDelayS = c.longDelay.Seconds()
	}
	return r
}

func (r *Report) addSetup(res *Result) {
	res.Kind = "setup"
	r.Setup = append(r.Setup, res)
}

// finish computes the totals and the problem list.
func (r *Report) finish() {
	type key struct{ sev, kind string }
	agg := map[key]*Problem{}
	wheres := map[key]map[string]bool{}
	var order []key
	add := func(where string, rs ...*Result) {
		for _, res := range rs {
			if res == nil {
				continue
			}
			r.Totals.Requests++
			if !res.OK {
				r.Totals.Errors++
			}
			r.Totals.Malformed += res.count(sevMalformed)
			r.Totals.Warnings += res.count(sevWarning)
			for _, is := range res.Issues {
				k := key{is.Severity, is.Kind}
				p := agg[k]
				if p == nil {
					p = &Problem{Severity: is.Severity, Kind: is.Kind, Example: is.Detail}
					agg[k], wheres[k] = p, map[string]bool{}
					order = append(order, k)
				}
				p.Count++
				wheres[k][where] = true
			}
		}
	}
	add("setup", r.Setup...)
	for _, l := range r.Levels {
		add(fmt.Sprintf("c=%d", l.Concurrency), l.Requests...)
	}
	if r.Mixed != nil {
		add("mixed-short", r.Mixed.Requests...)
		add("mixed-long", r.Mixed.Long)
	}
	rank := map[string]int{sevError: 0, sevMalformed: 1, sevWarning: 2}
	sort.SliceStable(order, func(i, j int) bool { return rank[order[i].sev] < rank[order[j].sev] })
	r.Problems = []Problem{}
	for _, k := range order {
		p := agg[k]
		var ws []string
		for w := range wheres[k] {
			ws = append(ws, w)
		}
		sort.Strings(ws)
		p.Where = strings.Join(ws, " ")
		r.Problems = append(r.Problems, *p)
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// commandLine quotes args the way a POSIX shell would need them.
func commandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
		}) < 0 {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// writeOutputs writes LABEL.md, LABEL.json and LABEL.svg into dir.
func writeOutputs(dir, label string, r *Report, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the JSON report: %w", err)
	}
	base := filepath.Join(dir, label)
	for _, f := range []struct {
		ext  string
		data []byte
	}{{".md", []byte(md)}, {".json", append(js, '\n')}, {".svg", []byte(renderSVG(r))}} {
		if err := os.WriteFile(base+f.ext, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fmtMs formats a latency in milliseconds with sensible precision.
func fmtMs(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// fmtP formats one percentile of a summary, "-" when it has no samples.
func fmtP(s Summary, v float64) string {
	if s.N == 0 {
		return "-"
	}
	return fmtMs(v)
}

func fmtRate(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// renderMarkdown renders the report as Markdown.
func renderMarkdown(r *Report) string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "# loadgen: %s\n\n", r.Label)
	fmt.Fprintf(&b, "- date: %s\n", r.Date)
	fmt.Fprintf(&b, "- host: nproc %d, %s (%s)\n", r.NProc, r.CPUModel, r.Platform)
	fmt.Fprintf(&b, "- command: `%s`\n", strings.ReplaceAll(r.Command, "`", "'"))
	if r.Note != "" {
		fmt.Fprintf(&b, "- note: %s\n", r.Note)
	}
	fmt.Fprintf(&b, "- model `%s` at %s; mode %s; seed %d; %.2f prompt tokens per word\n", c.Model, c.URL, c.Mode, c.Seed, r.TokensPerWord)
	prompt := fmt.Sprintf("~%d-token prompts", c.PromptTokens)
	if c.SharedPrefix > 0 {
		prompt = fmt.Sprintf("~%d-token shared prefix + ~%d own tokens", c.SharedPrefix, c.PromptTokens)
	}
	bound := fmt.Sprintf("%d requests per client, at most %.0fs per level", c.RequestsPerLevel, c.DurationS)
	switch {
	case c.Mode == "mixed":
		bound = fmt.Sprintf("short streams for at most %.0fs", c.DurationS)
	case c.RequestsPerLevel == 0:
		bound = fmt.Sprintf("requests for %.0fs per level", c.DurationS)
	case c.DurationS == 0:
		bound = fmt.Sprintf("%d requests per client", c.RequestsPerLevel)
	}
	fmt.Fprintf(&b, "- requests: %s, max_tokens %d, temperature 0, ignore_eos, streamed; %s\n", prompt, c.MaxTokens, bound)
	if r.Interrupted {
		b.WriteString("- **interrupted: partial results**\n")
	}
	b.WriteString("\n")

	if len(r.Levels) > 0 {
		b.WriteString("| conc | ok/req | wall s | out tok/s | req/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | e2e p50 ms | e2e p99 ms | client tok/s min / max | prompt tok | cached tok | err | malformed | warn |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Levels {
			s := l.Stats
			fmt.Fprintf(&b, "| %d | %d/%d | %.2f | %s | %.2f | %s | %s | %s | %s | %s | %s | %s / %s | %.0f | %.0f | %d | %d | %d |\n",
				l.Concurrency, s.OK, s.Requests, s.WallS, fmtRate(s.TokensPerS), s.RequestsPerS,
				fmtP(s.TTFT, s.TTFT.P50), fmtP(s.TTFT, s.TTFT.P99), fmtP(s.ITL, s.ITL.P50), fmtP(s.ITL, s.ITL.P99),
				fmtP(s.E2E, s.E2E.P50), fmtP(s.E2E, s.E2E.P99), fmtRate(s.ClientMin), fmtRate(s.ClientMax),
				s.PromptTokens, s.CachedTokens, s.Errors, s.Malformed, s.Warnings)
		}
		b.WriteString("\nout tok/s: sum of usage.completion_tokens / wall time of the level. TTFT: to the first text chunk. ITL: between consecutive text chunks. client tok/s: each client's tokens over its own busy time.\n\n")
	}

	if m := r.Mixed; m != nil {
		fmt.Fprintf(&b, "Mixed: %d short clients (~%d-token prompts, max_tokens %d) streaming for %.1fs; one long prompt (~%d tokens, max_tokens %d) sent %.1fs in.\n\n",
			m.Clients-1, c.PromptTokens, c.MaxTokens, m.WallS, c.LongPromptTokens, c.LongMaxTokens, c.LongDelayS)
		if l := m.Long; l != nil {
			pt := 0
			if l.Usage != nil {
				pt = l.Usage.PromptTokens
			}
			fmt.Fprintf(&b, "Long request: %d prompt tokens, TTFT %s ms (the prefill window), e2e %s ms, ok %v.\n\n",
				pt, fmtMs(m.WindowToMs-m.WindowFromMs), fmtMs(l.E2EMs), l.OK)
		}
		b.WriteString("| short-stream ITL | samples | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n")
		for _, row := range []struct {
			name string
			s    Summary
		}{{"during the long prefill", m.During}, {"outside it", m.Outside}} {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", row.name, row.s.N,
				fmtP(row.s, row.s.P50), fmtP(row.s, row.s.P90), fmtP(row.s, row.s.P99), fmtP(row.s, row.s.Max))
		}
		s := m.Short
		fmt.Fprintf(&b, "\nShort streams: %d/%d requests ok, %s out tok/s, TTFT p50 %s ms / p99 %s ms, errors %d, malformed %d, warnings %d.\n\n",
			s.OK, s.Requests, fmtRate(s.TokensPerS), fmtP(s.TTFT, s.TTFT.P50), fmtP(s.TTFT, s.TTFT.P99), s.Errors, s.Malformed, s.Warnings)
	}

	b.WriteString("## Problems\n\n")
	if len(r.Problems) == 0 {
		fmt.Fprintf(&b, "None: all %d responses passed every check.\n", r.Totals.Requests)
		return b.String()
	}
	fmt.Fprintf(&b, "%d requests, %d failed, %d protocol violations, %d warnings.\n\n", r.Totals.Requests, r.Totals.Errors, r.Totals.Malformed, r.Totals.Warnings)
	b.WriteString("| severity | kind | count | where | example |\n|---|---|---:|---|---|\n")
	for _, p := range r.Problems {
		ex := strings.NewReplacer("|", `\|`, "\n", " ").Replace(p.Example)
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |\n", p.Severity, p.Kind, p.Count, p.Where, ex)
	}
	return b.String()
}
