package metrics

import "github.com/prometheus/client_golang/prometheus"

// ModelState is one model as the scrape-time gauges see it.
type ModelState struct {
	ID         string
	State      string // unloaded | loading | loaded | unloading
	Memory     int64  // measured bytes once loaded
	Estimate   int64
	SlotsBusy  int
	SlotsTotal int
	Queued     int // requests waiting for a slot in the engine
	Waiting    int // requests waiting for the model to load
}

// ModelCollector reports model gauges from a snapshot taken at scrape
// time, so they can never drift from the cache's own state.
type ModelCollector struct {
	snapshot                                         func() []ModelState
	loaded, memory, estimate, busy, total, queued, w *prometheus.Desc
}

// NewModelCollector returns a collector reading snapshot at each scrape.
func NewModelCollector(snapshot func() []ModelState) *ModelCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &ModelCollector{
		snapshot: snapshot,
		loaded:   d("llamagate_model_loaded", "1 for each model in the given state (unloaded, loading, loaded, unloading).", "model", "state"),
		memory:   d("llamagate_model_memory_bytes", "Memory a loaded model holds (weights + KV cache), measured after load.", "model"),
		estimate: d("llamagate_model_memory_estimate_bytes", "Memory a load of the model is estimated to take, from its GGUF header.", "model"),
		busy:     d("llamagate_model_slots_busy", "Slots of a loaded model serving a sequence.", "model"),
		total:    d("llamagate_model_slots", "Slots of a loaded model (its parallel setting).", "model"),
		queued:   d("llamagate_model_queued_requests", "Requests waiting for a slot of a loaded model.", "model"),
		w:        d("llamagate_model_waiting_requests", "Requests waiting for the model to be loaded.", "model"),
	}
}

// Describe implements prometheus.Collector.
func (c *ModelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.loaded, c.memory, c.estimate, c.busy, c.total, c.queued, c.w} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *ModelCollector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range c.snapshot() {
		g(c.loaded, 1, s.ID, s.State)
		g(c.estimate, float64(s.Estimate), s.ID)
		g(c.w, float64(s.Waiting), s.ID)
		if s.State != "loaded" {
			continue
		}
		g(c.memory, float64(s.Memory), s.ID)
		g(c.busy, float64(s.SlotsBusy), s.ID)
		g(c.total, float64(s.SlotsTotal), s.ID)
		g(c.queued, float64(s.Queued), s.ID)
	}
}
