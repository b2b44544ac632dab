package router

import (
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

// withModelDefaults fills the sampling fields a request left out with the
// model's configured defaults; fields the request gave always win.
func withModelDefaults(p openai.Sampling, d models.Sampling) openai.Sampling {
	f64 := func(dst **float64, v *float64) {
		if *dst == nil && v != nil {
			x := *v
			*dst = &x
		}
	}
	i64 := func(dst **int64, v *int) {
		if *dst == nil && v != nil {
			x := int64(*v)
			*dst = &x
		}
	}
	i64(&p.MaxTokens, d.MaxTokens)
	i64(&p.TopK, d.TopK)
	f64(&p.Temperature, d.Temperature)
	f64(&p.TopP, d.TopP)
	f64(&p.MinP, d.MinP)
	f64(&p.RepeatPenalty, d.RepeatPenalty)
	f64(&p.PresencePenalty, d.PresencePenalty)
	f64(&p.FrequencyPenalty, d.FrequencyPenalty)
	if p.Stop == nil && len(d.Stop) > 0 {
		p.Stop = append([]string(nil), d.Stop...)
	}
	return p
}
