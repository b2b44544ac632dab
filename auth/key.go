package auth

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/llamagate/llamagate/config"
)

// Key is an authenticated client key. It holds no secret; it prints and
// logs as its ID.
type Key struct {
	ID    string
	Scope Scope

	hash        [32]byte
	allModels   bool
	models      map[string]bool
	limits      config.Limits
	defaults    config.Limits
	modelLimits map[string]config.Limits
	maxTimeout  time.Duration
}

// Limits are resolved rate limits; 0 is unlimited. It has exactly the
// fields of ratelimit.Limits, so ratelimit.Limits(l) converts it (auth
// does not import ratelimit).
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
	Concurrent        int
}

// Allows reports whether the key has scope s. Admin keys may do anything.
func (k *Key) Allows(s Scope) bool { return k.Scope == ScopeAdmin || k.Scope == s }

// AllowsModel reports whether the key may use the model. Pass every name
// the model goes by (as requested and its canonical id): the key's list
// may hold either. A key with no list, or "*" in it, may use every model.
func (k *Key) AllowsModel(names ...string) bool {
	if k.allModels {
		return true
	}
	for _, n := range names {
		if k.models[n] {
			return true
		}
	}
	return false
}

// Limits returns the limits for a request to the model and the rate
// limit bucket they are counted in. Pass the canonical model id first,
// then any alias the request used.
//
// Each field is the first one set among: the key's model_limits entry for
// the model (the first of names that has one), the key's limits, the
// config's default_limits; unset everywhere, it is 0 (unlimited). An
// explicit 0 at a level means unlimited and stops the fallback.
//
// A model with a model_limits entry has its own bucket, "<id>/<model>",
// so its usage is counted apart from the key's other models; all models
// without an entry share the bucket "<id>".
func (k *Key) Limits(names ...string) (bucket string, lim Limits) {
	var model config.Limits
	bucket = k.ID
	for _, n := range names {
		if l, ok := k.modelLimits[n]; ok {
			model = l
			bucket = k.ID + "/" + names[0]
			break
		}
	}
	pick := func(fields ...*int) int {
		for _, f := range fields {
			if f != nil {
				return *f
			}
		}
		return 0
	}
	lim = Limits{
		RequestsPerMinute: pick(model.RequestsPerMinute, k.limits.RequestsPerMinute, k.defaults.RequestsPerMinute),
		TokensPerMinute:   pick(model.TokensPerMinute, k.limits.TokensPerMinute, k.defaults.TokensPerMinute),
		Concurrent:        pick(model.Concurrent, k.limits.Concurrent, k.defaults.Concurrent),
	}
	return bucket, lim
}

// MaxTimeout returns the longest total deadline a request with this key
// may have; 0 means no cap.
func (k *Key) MaxTimeout() time.Duration { return k.maxTimeout }

// String returns the key's id, so that printing a Key never shows more.
func (k Key) String() string { return k.ID }

// GoString keeps %#v to the id too.
func (k Key) GoString() string { return "auth.Key{ID: " + strconv.Quote(k.ID) + "}" }

// LogValue implements slog.LogValuer: a logged Key is its id.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.ID) }
