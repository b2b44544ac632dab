package main

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// renderSVG draws the report's chart: for a sweep, output throughput and
// TTFT p50 against concurrency; for mixed, the short streams' inter-token
// latencies over time with the long prompt's prefill window shaded.
func renderSVG(r *Report) string {
	if r.Mixed != nil {
		return mixedSVG(r)
	}
	return sweepSVG(r)
}

const svgFont = `font-family="sans-serif" font-size="11"`

func svgHeader(b *strings.Builder, w, h int, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`+"\n", w, h, w, h, svgFont)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(b, `<text x="10" y="18" font-size="13" font-weight="bold">%s</text>`+"\n", esc(title))
}

func esc(s string) string { return html.EscapeString(s) }

// niceStep returns a round step (1, 2 or 5 × 10^k) close to x.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	}
	return 10 * p
}

// niceAxis returns the top of an axis from 0 that holds max, and its step.
func niceAxis(max float64) (top, step float64) {
	if max <= 0 || math.IsNaN(max) {
		return 1, 0.2
	}
	step = niceStep(max / 5)
	top = math.Ceil(max/step) * step
	if top < max*1.0001 {
		top += step
	}
	return top, step
}

func fmtTick(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// plotFrame draws the axes, the grid and the labels of a chart whose plot
// area is (l, t)–(r, btm), and returns a function mapping a y value to a
// pixel row.
func plotFrame(b *strings.Builder, l, t, r, btm float64, title, xLabel, yLabel string, yTop, yStep float64) func(float64) float64 {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>`+"\n", (l+r)/2, t-10, esc(title))
	ymap := func(v float64) float64 { return btm - v/yTop*(btm-t) }
	for v := 0.0; v <= yTop*1.0001; v += yStep {
		y := ymap(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", l, y, r, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", l-5, y+4, fmtTick(v))
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", l, btm, r, btm)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", l, t, l, btm)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (l+r)/2, btm+32, esc(xLabel))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
		l-42, (t+btm)/2, l-42, (t+btm)/2, esc(yLabel))
	return ymap
}

// lineChart draws ys against the categories xs in the box (ox, oy, w, h).
func lineChart(b *strings.Builder, ox, oy, w, h float64, title, xLabel, yLabel string, xs []string, ys []float64, color string, label func(float64) string) {
	l, t, r, btm := ox+60, oy+30, ox+w-20, oy+h-45
	maxY := 0.0
	for _, y := range ys {
		if !math.IsNaN(y) {
			maxY = math.Max(maxY, y)
		}
	}
	top, step := niceAxis(maxY)
	ymap := plotFrame(b, l, t, r, btm, title, xLabel, yLabel, top, step)
	xpos := func(i int) float64 {
		if len(xs) == 1 {
			return (l + r) / 2
		}
		pad := 20.0
		return l + pad + float64(i)*(r-l-2*pad)/float64(len(xs)-1)
	}
	var pts []string
	for i, x := range xs {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", xpos(i), btm, xpos(i), btm+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", xpos(i), btm+16, esc(x))
		if i < len(ys) && !math.IsNaN(ys[i]) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xpos(i), ymap(ys[i])))
		}
	}
	if len(pts) > 1 {
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
	}
	for i := range xs {
		if i >= len(ys) || math.IsNaN(ys[i]) {
			continue
		}
		x, y := xpos(i), ymap(ys[i])
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", x, y, color)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`+"\n", x, y-7, esc(label(ys[i])))
	}
}

func sweepSVG(r *Report) string {
	var b strings.Builder
	const w, h = 880, 330
	svgHeader(&b, w, h, fmt.Sprintf("%s: %s, %s", r.Label, r.Config.Model, r.Date))
	var xs []string
	var tps, ttft []float64
	for _, l := range r.Levels {
		xs = append(xs, strconv.Itoa(l.Concurrency))
		tps = append(tps, l.Stats.TokensPerS)
		if l.Stats.TTFT.N > 0 {
			ttft = append(ttft, l.Stats.TTFT.P50)
		} else {
			ttft = append(ttft, math.NaN())
		}
	}
	lineChart(&b, 0, 28, w/2, h-28, "Output throughput", "concurrent clients", "output tokens/s", xs, tps, "#1f77b4", fmtRate)
	lineChart(&b, w/2, 28, w/2, h-28, "Time to first token (p50)", "concurrent clients", "TTFT p50 (ms)", xs, ttft, "#d62728", fmtMs)
	b.WriteString("</svg>\n")
	return b.String()
}

func mixedSVG(r *Report) string {
	m := r.Mixed
	var b strings.Builder
	const w, h = 880, 360
	svgHeader(&b, w, h, fmt.Sprintf("%s: %s, %s", r.Label, r.Config.Model, r.Date))
	type pt struct {
		t, v   float64
		during bool
	}
	var pts []pt
	maxV := 0.0
	for _, res := range m.Requests {
		for k := 1; k < len(res.TokenAtMs); k++ {
			a, c := res.TokenAtMs[k-1], res.TokenAtMs[k]
			during := m.Long != nil && c > m.WindowFromMs && a < m.WindowToMs
			pts = append(pts, pt{(c - m.StartAtMs) / 1000, c - a, during})
			maxV = math.Max(maxV, c-a)
		}
	}
	l, t, rt, btm := 70.0, 58.0, float64(w-20), float64(h-50)
	yTop, yStep := niceAxis(maxV)
	title := "Short-stream inter-token latency over time (shaded: the long prompt's prefill)"
	ymap := plotFrame(&b, l, t, rt, btm, title, "time since start (s)", "inter-token latency (ms)", yTop, yStep)
	xTop, xStep := niceAxis(m.WallS)
	xmap := func(s float64) float64 { return l + s/xTop*(rt-l) }
	for v := 0.0; v <= xTop*1.0001; v += xStep {
		x := xmap(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x, btm, x, btm+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, btm+16, fmtTick(v))
	}
	if m.Long != nil {
		x0 := xmap((m.WindowFromMs - m.StartAtMs) / 1000)
		x1 := xmap((m.WindowToMs - m.StartAtMs) / 1000)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f5b041" fill-opacity="0.3"/>`+"\n", x0, t, math.Max(x1-x0, 1), btm-t)
	}
	stride := max(1, len(pts)/5000)
	for i := 0; i < len(pts); i += stride {
		p := pts[i]
		color := "#1f77b4"
		if p.during {
			color = "#d62728"
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.8" fill="%s"/>`+"\n", xmap(p.t), ymap(p.v), color)
	}
	legend := fmt.Sprintf("ITL during prefill: p50 %s / p99 %s / max %s ms (n=%d); outside: p50 %s / p99 %s ms (n=%d)",
		fmtP(m.During, m.During.P50), fmtP(m.During, m.During.P99), fmtP(m.During, m.During.Max), m.During.N,
		fmtP(m.Outside, m.Outside.P50), fmtP(m.Outside, m.Outside.P99), m.Outside.N)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#333">%s</text>`+"\n", l, 34, esc(legend))
	b.WriteString("</svg>\n")
	return b.String()
}
