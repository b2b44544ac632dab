package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws one status line on stderr, rewritten in place with \r.
type progress struct {
	w       io.Writer
	enabled bool

	mu       sync.Mutex // guards the fields below and writing
	title    string
	total    int
	limit    time.Duration
	start    time.Time
	stop     chan struct{}
	done     chan struct{}
	lastLen  int
	requests atomic.Int64
	errors   atomic.Int64
	tokens   atomic.Int64
}

func newProgress(w io.Writer, enabled bool) *progress {
	return &progress{w: w, enabled: enabled}
}

// begin starts a phase: total requests expected (0: unknown) and the time
// limit (0: none); the bar shows whichever is further along.
func (p *progress) begin(title string, total int, limit time.Duration) {
	p.requests.Store(0)
	p.errors.Store(0)
	p.tokens.Store(0)
	p.mu.Lock()
	p.title, p.total, p.limit, p.start = title, total, limit, time.Now()
	p.mu.Unlock()
	if !p.enabled {
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			p.draw(false)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// end finishes the phase's line.
func (p *progress) end() {
	if !p.enabled || p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
	p.draw(true)
}

func (p *progress) token() { p.tokens.Add(1) }

func (p *progress) request(r *Result) {
	p.requests.Add(1)
	if !r.OK {
		p.errors.Add(1)
	}
}

func (p *progress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := time.Since(p.start)
	done := p.requests.Load()
	frac := 0.0
	if p.total > 0 {
		frac = float64(done) / float64(p.total)
	}
	if p.limit > 0 {
		frac = max(frac, float64(elapsed)/float64(p.limit))
	}
	if final && p.total > 0 && int(done) >= p.total {
		frac = 1
	}
	frac = min(frac, 1)
	const width = 24
	fill := int(frac * width)
	bar := strings.Repeat("#", fill) + strings.Repeat("-", width-fill)
	count := fmt.Sprintf("%d req", done)
	if p.total > 0 {
		count = fmt.Sprintf("%d/%d req", done, p.total)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.tokens.Load()) / s
	}
	line := fmt.Sprintf("%-12s [%s] %3.0f%%  %s  %.1f tok/s  err %d  %.1fs",
		p.title, bar, frac*100, count, rate, p.errors.Load(), elapsed.Seconds())
	pad := ""
	if n := p.lastLen - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.lastLen = len(line)
	end := ""
	if final {
		end = "\n"
		p.lastLen = 0
	}
	fmt.Fprint(p.w, "\r"+line+pad+end)
}
