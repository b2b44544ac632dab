package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/llamagate/llamagate/config"
)

// Keyring is the immutable set of configured keys. It is safe for
// concurrent use; to change keys, build a new Keyring and swap it in.
type Keyring struct {
	keys []Key
}

// NewKeyring builds a Keyring from the auth config, reading keys_file.
// With no keys every Lookup fails; whether auth is on at all is the
// caller's decision (config.Auth.Enabled).
func NewKeyring(cfg config.Auth) (*Keyring, error) {
	entries, err := cfg.LoadKeys()
	if err != nil {
		return nil, err
	}
	r := &Keyring{keys: make([]Key, len(entries))}
	for i, e := range entries {
		k, err := newKey(e, cfg.DefaultLimits)
		if err != nil {
			return nil, err
		}
		r.keys[i] = k
	}
	return r, nil
}

func newKey(e config.APIKey, defaults config.Limits) (Key, error) {
	k := Key{
		ID:          e.ID,
		Scope:       Scope(e.Scope),
		limits:      e.Limits,
		defaults:    defaults,
		modelLimits: e.ModelLimits,
		maxTimeout:  e.MaxTimeout.D(),
		allModels:   len(e.Models) == 0,
		models:      map[string]bool{},
	}
	if k.Scope == "" {
		k.Scope = ScopeInference
	}
	for _, m := range e.Models {
		if m == "*" {
			k.allModels = true
		}
		k.models[m] = true
	}
	// config validated the format; decoding again keeps the 32 raw bytes.
	b, err := hex.DecodeString(strings.TrimPrefix(e.Hash, config.HashPrefix))
	if err != nil || len(b) != sha256.Size {
		return Key{}, fmt.Errorf("auth: key %s: malformed hash", e.ID)
	}
	copy(k.hash[:], b)
	return k, nil
}

// Len returns the number of keys.
func (r *Keyring) Len() int { return len(r.keys) }

// Lookup returns the key whose hash matches secret. Every key is compared,
// in constant time, whatever matches: the time taken tells nothing about
// which key, or how much of a hash, matched.
func (r *Keyring) Lookup(secret string) (*Key, bool) {
	if secret == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range r.keys {
		eq := subtle.ConstantTimeCompare(sum[:], r.keys[i].hash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil, false
	}
	return &r.keys[found], true
}
