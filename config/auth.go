package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Auth holds API keys and rate limits. With no keys and no keys_file,
// authentication is off (Enabled reports false).
type Auth struct {
	Keys []APIKey `yaml:"keys"`
	// KeysFile names a YAML file with the same `keys:` list, merged after
	// Keys (ids must stay unique). A relative path is relative to the
	// process's working directory. It is read by LoadKeys, not by Decode.
	KeysFile string `yaml:"keys_file"`
	// DefaultLimits fills the fields a key leaves unset. Unset here too
	// means unlimited.
	DefaultLimits  Limits         `yaml:"default_limits"`
	RateLimitStore RateLimitStore `yaml:"rate_limit_store"`
}

// Scopes a key may have. Admin includes inference.
const (
	ScopeInference = "inference"
	ScopeAdmin     = "admin"
)

// HashPrefix starts every key hash: the algorithm is named so that another
// one can be added without ambiguity.
const HashPrefix = "sha256:"

// APIKey is one client key. The secret itself is never stored, only its
// hash (`llamagate hash-key` prints it).
type APIKey struct {
	ID     string   `yaml:"id"`     // shown in logs and metrics; [A-Za-z0-9._-], at most 64
	Hash   string   `yaml:"hash"`   // "sha256:" + 64 hex digits
	Scope  string   `yaml:"scope"`  // inference (default) or admin
	Models []string `yaml:"models"` // model ids or aliases; "*" or empty: every model
	Limits Limits   `yaml:"limits"`
	// ModelLimits gives a model its own budget: fields set here override
	// Limits for that model, and the model's usage is counted apart from
	// the key's other models.
	ModelLimits map[string]Limits `yaml:"model_limits"`
	MaxTimeout  Duration          `yaml:"max_timeout"` // longest total deadline; 0: no cap
}

// Limits are per-minute rates and a concurrency cap. A nil field is unset
// (it falls back to the next level); 0 is unlimited.
type Limits struct {
	RequestsPerMinute *int `yaml:"requests_per_minute"`
	TokensPerMinute   *int `yaml:"tokens_per_minute"`
	Concurrent        *int `yaml:"concurrent"`
}

// Rate limit store types and error policies.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"

	FailOpen   = "fail_open"
	FailClosed = "fail_closed"
)

// RateLimitStore chooses where rate limit state lives. The zero value is
// the in-process memory store. Defaults for redis are applied by the
// ratelimit package: prefix "llamagate:", on_error fail_open, timeout 100ms.
type RateLimitStore struct {
	Type        string   `yaml:"type"` // memory (default) or redis
	Addr        string   `yaml:"addr"` // host:port
	PasswordEnv string   `yaml:"password_env"`
	DB          int      `yaml:"db"`
	Prefix      string   `yaml:"prefix"`
	OnError     string   `yaml:"on_error"` // fail_open (default) or fail_closed
	Timeout     Duration `yaml:"timeout"`  // per Redis call
}

// Enabled reports whether requests must present a key.
func (a Auth) Enabled() bool { return len(a.Keys) > 0 || a.KeysFile != "" }

// LoadKeys returns Keys followed by the keys of KeysFile, validated together.
func (a Auth) LoadKeys() ([]APIKey, error) {
	keys := append([]APIKey(nil), a.Keys...)
	if a.KeysFile != "" {
		more, err := LoadKeysFile(a.KeysFile)
		if err != nil {
			return nil, err
		}
		keys = append(keys, more...)
	}
	if err := errors.Join(validateKeys("auth.keys", keys)...); err != nil {
		return nil, err
	}
	return keys, nil
}

// LoadKeysFile reads a YAML file holding a `keys:` list, strictly, and
// validates it alone.
func LoadKeysFile(path string) ([]APIKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	var f struct {
		Keys []APIKey `yaml:"keys"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	if err := errors.Join(validateKeys("keys", f.Keys)...); err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	return f.Keys, nil
}

// Redacted returns a copy without the key hashes: a hash of a weak secret
// can be brute-forced, so it stays out of logs and debug output.
func (a Auth) Redacted() Auth {
	a.Keys = append([]APIKey(nil), a.Keys...)
	for i := range a.Keys {
		if a.Keys[i].Hash != "" {
			a.Keys[i].Hash = HashPrefix + "<redacted>"
		}
	}
	return a
}

func (a *Auth) validate() []error {
	errs := validateKeys("auth.keys", a.Keys)
	errs = append(errs, a.DefaultLimits.validate("auth.default_limits")...)
	return append(errs, a.RateLimitStore.validate()...)
}

// validKeyID keeps ids safe in logs, metric labels and rate limit bucket
// names, where "/" separates the key from the model.
func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func validateKeys(path string, keys []APIKey) []error {
	var errs []error
	ids := map[string]bool{}
	hashes := map[string]string{}
	for i, k := range keys {
		at := fmt.Sprintf("%s[%d]", path, i)
		if k.ID != "" {
			at = fmt.Sprintf("%s (id %s)", at, k.ID)
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf(at+": "+format, args...))
		}
		switch {
		case k.ID == "":
			fail("id must not be empty")
		case !validKeyID(k.ID):
			fail("id must be 1-64 of A-Z a-z 0-9 . _ -")
		case ids[k.ID]:
			fail("duplicate id")
		}
		ids[k.ID] = true
		if err := checkHash(k.Hash); err != nil {
			fail("%v", err)
		} else {
			h := strings.ToLower(k.Hash)
			if other, dup := hashes[h]; dup {
				fail("same hash as key %s: one secret must name one key", other)
			}
			hashes[h] = k.ID
		}
		if k.Scope != "" && k.Scope != ScopeInference && k.Scope != ScopeAdmin {
			fail("scope must be %s or %s, not %q", ScopeInference, ScopeAdmin, k.Scope)
		}
		for _, m := range k.Models {
			if strings.TrimSpace(m) == "" {
				fail("models must not contain an empty name")
			}
		}
		errs = append(errs, k.Limits.validate(at+".limits")...)
		for m, l := range k.ModelLimits {
			if strings.TrimSpace(m) == "" {
				fail("model_limits must not have an empty model name")
			}
			errs = append(errs, l.validate(fmt.Sprintf("%s.model_limits[%s]", at, m))...)
		}
		if k.MaxTimeout < 0 {
			fail("max_timeout must not be negative")
		}
	}
	return errs
}

// checkHash accepts HashPrefix followed by a SHA-256 in hex.
func checkHash(h string) error {
	hexPart, ok := strings.CutPrefix(h, HashPrefix)
	if !ok {
		return fmt.Errorf("hash must start with %q (llamagate hash-key prints it)", HashPrefix)
	}
	if b, err := hex.DecodeString(hexPart); err != nil || len(b) != 32 {
		return errors.New("hash must be sha256: followed by 64 hex digits")
	}
	return nil
}

func (l Limits) validate(path string) []error {
	var errs []error
	for _, f := range []struct {
		name string
		v    *int
	}{
		{"requests_per_minute", l.RequestsPerMinute},
		{"tokens_per_minute", l.TokensPerMinute},
		{"concurrent", l.Concurrent},
	} {
		if f.v != nil && *f.v < 0 {
			errs = append(errs, fmt.Errorf("%s.%s must not be negative (0 is unlimited)", path, f.name))
		}
	}
	return errs
}

func (s RateLimitStore) validate() []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("auth.rate_limit_store."+format, args...))
	}
	switch s.Type {
	case "", StoreMemory:
		// Redis settings under a memory store are most likely a forgotten
		// `type: redis`, which would silently limit per process.
		if s.Addr != "" || s.PasswordEnv != "" || s.DB != 0 || s.Prefix != "" || s.OnError != "" || s.Timeout != 0 {
			fail("type: memory takes no other settings (did you mean type: redis?)")
		}
	case StoreRedis:
		if s.Addr == "" {
			fail("addr is required with type: redis")
		}
		if s.DB < 0 {
			fail("db must not be negative")
		}
		if s.OnError != "" && s.OnError != FailOpen && s.OnError != FailClosed {
			fail("on_error must be %s or %s, not %q", FailOpen, FailClosed, s.OnError)
		}
		if s.Timeout < 0 {
			fail("timeout must not be negative")
		}
	default:
		fail("type must be %s or %s, not %q", StoreMemory, StoreRedis, s.Type)
	}
	return errs
}
