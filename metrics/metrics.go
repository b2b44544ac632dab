// Package metrics owns the gateway's Prometheus metrics: their names,
// labels and buckets, and the scrape handler. Labels are bounded: model
// ids from the registry, API key ids from the config, route patterns and
// status codes; never prompt text or request ids.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector. The zero value is not usable; use New. A
// nil *Metrics records nothing, so code paths need no checks.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	tokens       *prometheus.CounterVec
	ttft         *prometheus.HistogramVec
	itl          *prometheus.HistogramVec
	duration     *prometheus.HistogramVec
	queueWait    *prometheus.HistogramVec
	inFlight     *prometheus.GaugeVec
	loadDuration *prometheus.HistogramVec
	loadFailures *prometheus.CounterVec
	evictions    *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
}

// latencyBuckets span 5 ms to 2 min, for TTFT and whole requests.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// tokenBuckets span 1 ms to 2.5 s, for the gap between two tokens.
var tokenBuckets = []float64{.001, .0025, .005, .01, .02, .035, .05, .075, .1, .15, .25, .5, 1, 2.5}

// New returns a Metrics with its own registry, holding the Go runtime and
// process collectors too.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llamagate_requests_total", Help: "HTTP requests by route, model, API key id and status.",
		}, []string{"route", "model", "key", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llamagate_tokens_total", Help: "Tokens processed, by model, API key id and kind (prompt, completion, cached).",
		}, []string{"model", "key", "kind"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llamagate_time_to_first_token_seconds", Help: "Time from request arrival to the first token sent.", Buckets: latencyBuckets,
		}, []string{"model"}),
		itl: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llamagate_inter_token_latency_seconds", Help: "Time between two tokens of a streamed response.", Buckets: tokenBuckets,
		}, []string{"model"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llamagate_request_duration_seconds", Help: "End-to-end duration of generation requests.", Buckets: latencyBuckets,
		}, []string{"model"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llamagate_queue_wait_seconds", Help: "Time a request waited for its model (load, room) before generation started.", Buckets: latencyBuckets,
		}, []string{"model"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llamagate_requests_in_flight", Help: "Generation requests being served, by model.",
		}, []string{"model"}),
		loadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llamagate_model_load_duration_seconds", Help: "Model load time.", Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"model"}),
		loadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llamagate_model_load_failures_total", Help: "Failed model loads.",
		}, []string{"model"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llamagate_model_unloads_total", Help: "Model unloads by reason (lru, ttl, idle, admin, reload, removed, shutdown).",
		}, []string{"model", "reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llamagate_rate_limited_total", Help: "Requests refused by a rate limit, by API key id and kind (requests, tokens, concurrent).",
		}, []string{"key", "kind"}),
	}
	reg.MustRegister(m.requests, m.tokens, m.ttft, m.itl, m.duration, m.queueWait, m.inFlight,
		m.loadDuration, m.loadFailures, m.evictions, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register adds a collector (the model and slot gauges read at scrape
// time).
func (m *Metrics) Register(c prometheus.Collector) {
	if m != nil {
		m.reg.MustRegister(c)
	}
}

// Request records one finished HTTP request.
func (m *Metrics) Request(route, model, key string, status int) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, model, key, strconv.Itoa(status)).Inc()
}

// Generation records a finished generation request of model.
func (m *Metrics) Generation(model, key string, prompt, completion, cached int, ttft, total time.Duration) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(model, key, "prompt").Add(float64(prompt))
	m.tokens.WithLabelValues(model, key, "completion").Add(float64(completion))
	if cached > 0 {
		m.tokens.WithLabelValues(model, key, "cached").Add(float64(cached))
	}
	if ttft > 0 {
		m.ttft.WithLabelValues(model).Observe(ttft.Seconds())
	}
	m.duration.WithLabelValues(model).Observe(total.Seconds())
}

// InterToken records the gap between two streamed tokens.
func (m *Metrics) InterToken(model string, d time.Duration) {
	if m != nil {
		m.itl.WithLabelValues(model).Observe(d.Seconds())
	}
}

// QueueWait records how long a request waited for its model.
func (m *Metrics) QueueWait(model string, d time.Duration) {
	if m != nil {
		m.queueWait.WithLabelValues(model).Observe(d.Seconds())
	}
}

// InFlight moves the in-flight gauge of model by delta.
func (m *Metrics) InFlight(model string, delta float64) {
	if m != nil {
		m.inFlight.WithLabelValues(model).Add(delta)
	}
}

// Load records a model load's outcome.
func (m *Metrics) Load(model string, d time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.loadFailures.WithLabelValues(model).Inc()
		return
	}
	m.loadDuration.WithLabelValues(model).Observe(d.Seconds())
}

// Unload records a model unload.
func (m *Metrics) Unload(model, reason string) {
	if m != nil {
		m.evictions.WithLabelValues(model, reason).Inc()
	}
}

// RateLimited records a request refused by a limit.
func (m *Metrics) RateLimited(key, kind string) {
	if m != nil {
		m.rateLimited.WithLabelValues(key, kind).Inc()
	}
}
