package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hashA and hashB are valid hashes (of "a" and "b").
const (
	hashA = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	hashB = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
)

func TestAuthDecode(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means valid
	}{
		{"empty auth", "auth: {}", ""},
		{"full example", `
auth:
  keys:
    - id: alice
      hash: ` + hashA + `
      scope: inference
      models: ["*"]
      limits: {requests_per_minute: 60, tokens_per_minute: 10000, concurrent: 4}
      model_limits: {some-model: {requests_per_minute: 10}}
      max_timeout: 5m
    - id: ops.bob_2
      hash: ` + hashB + `
      scope: admin
  default_limits: {requests_per_minute: 0, tokens_per_minute: 0, concurrent: 0}
  rate_limit_store: {type: redis, addr: 127.0.0.1:6379, password_env: REDIS_PASSWORD, db: 0, prefix: "llamagate:", on_error: fail_closed, timeout: 100ms}
`, ""},
		{"algorithm name is lower-case", "auth: {keys: [{id: a, hash: " + strings.ToUpper(hashA[:7]) + hashA[7:] + "}]}", `hash must start with "sha256:"`},
		{"upper-case hex is fine", "auth: {keys: [{id: a, hash: " + "sha256:" + strings.ToUpper(hashA[7:]) + "}]}", ""},
		{"redis store", "auth: {rate_limit_store: {type: redis, addr: 'r:6379', on_error: fail_open, timeout: 50ms}}", ""},
		{"memory store", "auth: {rate_limit_store: {type: memory}}", ""},
		{"empty id", "auth: {keys: [{hash: " + hashA + "}]}", "id must not be empty"},
		{"id with slash", "auth: {keys: [{id: a/b, hash: " + hashA + "}]}", "id must be 1-64"},
		{"duplicate id", "auth: {keys: [{id: a, hash: " + hashA + "}, {id: a, hash: " + hashB + "}]}", "duplicate id"},
		{"duplicate hash", "auth: {keys: [{id: a, hash: " + hashA + "}, {id: b, hash: " + hashA + "}]}", "same hash as key a"},
		{"missing hash", "auth: {keys: [{id: a}]}", `hash must start with "sha256:"`},
		{"short hash", "auth: {keys: [{id: a, hash: 'sha256:abcd'}]}", "64 hex digits"},
		{"not hex", "auth: {keys: [{id: a, hash: 'sha256:" + strings.Repeat("zz", 32) + "'}]}", "64 hex digits"},
		{"plain secret as hash", "auth: {keys: [{id: a, hash: hunter2}]}", `hash must start with "sha256:"`},
		{"unknown scope", "auth: {keys: [{id: a, hash: " + hashA + ", scope: root}]}", `scope must be inference or admin, not "root"`},
		{"empty model name", "auth: {keys: [{id: a, hash: " + hashA + ", models: ['']}]}", "empty name"},
		{"negative key limit", "auth: {keys: [{id: a, hash: " + hashA + ", limits: {concurrent: -1}}]}", "auth.keys[0] (id a).limits.concurrent must not be negative"},
		{"negative model limit", "auth: {keys: [{id: a, hash: " + hashA + ", model_limits: {m: {tokens_per_minute: -5}}}]}", "model_limits[m].tokens_per_minute must not be negative"},
		{"negative default", "auth: {default_limits: {requests_per_minute: -1}}", "auth.default_limits.requests_per_minute"},
		{"negative max_timeout", "auth: {keys: [{id: a, hash: " + hashA + ", max_timeout: -1s}]}", "max_timeout must not be negative"},
		{"bad duration", "auth: {keys: [{id: a, hash: " + hashA + ", max_timeout: 300}]}", `"300" is not a duration`},
		{"duration as map", "auth: {keys: [{id: a, hash: " + hashA + ", max_timeout: {m: 5}}]}", "a duration must be a string"},
		{"unknown store", "auth: {rate_limit_store: {type: etcd}}", `type must be memory or redis, not "etcd"`},
		{"redis without addr", "auth: {rate_limit_store: {type: redis}}", "addr is required"},
		{"redis settings on memory", "auth: {rate_limit_store: {addr: 'r:6379'}}", "did you mean type: redis"},
		{"unknown on_error", "auth: {rate_limit_store: {type: redis, addr: 'r:1', on_error: retry}}", `on_error must be fail_open or fail_closed, not "retry"`},
		{"negative db", "auth: {rate_limit_store: {type: redis, addr: 'r:1', db: -1}}", "db must not be negative"},
		{"negative timeout", "auth: {rate_limit_store: {type: redis, addr: 'r:1', timeout: -1ms}}", "timeout must not be negative"},
		{"unknown field", "auth: {keys: [{id: a, hash: " + hashA + ", secret: x}]}", "field secret not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			err := Decode([]byte(tt.yaml), &cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("want error containing %q, got none", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuthDecodeValues(t *testing.T) {
	cfg := Default()
	err := Decode([]byte(`
auth:
  keys:
    - id: alice
      hash: `+hashA+`
      models: [m1, m2]
      limits: {requests_per_minute: 60, concurrent: 0}
      model_limits: {m1: {tokens_per_minute: 10}}
      max_timeout: 1m30s
  rate_limit_store: {type: redis, addr: 'r:6379', timeout: 100ms}
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Auth.Keys[0]
	if k.MaxTimeout.D() != 90*time.Second {
		t.Errorf("max_timeout = %v, want 1m30s", k.MaxTimeout)
	}
	if k.Limits.RequestsPerMinute == nil || *k.Limits.RequestsPerMinute != 60 {
		t.Errorf("requests_per_minute = %v, want 60", k.Limits.RequestsPerMinute)
	}
	if k.Limits.Concurrent == nil || *k.Limits.Concurrent != 0 {
		t.Errorf("explicit concurrent: 0 must be set (unlimited), got %v", k.Limits.Concurrent)
	}
	if k.Limits.TokensPerMinute != nil {
		t.Errorf("unset tokens_per_minute must stay nil, got %v", *k.Limits.TokensPerMinute)
	}
	if got := k.ModelLimits["m1"].TokensPerMinute; got == nil || *got != 10 {
		t.Errorf("model_limits m1 tokens = %v, want 10", got)
	}
	if cfg.Auth.RateLimitStore.Timeout.D() != 100*time.Millisecond {
		t.Errorf("timeout = %v", cfg.Auth.RateLimitStore.Timeout)
	}
	if !cfg.Auth.Enabled() {
		t.Error("auth with keys must be enabled")
	}
	if (Auth{}).Enabled() {
		t.Error("auth without keys must be disabled")
	}
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "keys:\n  - {id: bob, hash: "+hashB+"}\n")
	dupID := write("dupid.yaml", "keys:\n  - {id: alice, hash: "+hashB+"}\n")
	dupHash := write("duphash.yaml", "keys:\n  - {id: bob, hash: "+hashA+"}\n")
	unknown := write("unknown.yaml", "keys: []\nextra: 1\n")
	empty := write("empty.yaml", "")
	alice := []APIKey{{ID: "alice", Hash: hashA}}

	tests := []struct {
		name    string
		auth    Auth
		wantIDs []string
		wantErr string
	}{
		{"config only", Auth{Keys: alice}, []string{"alice"}, ""},
		{"merged", Auth{Keys: alice, KeysFile: good}, []string{"alice", "bob"}, ""},
		{"file only", Auth{KeysFile: good}, []string{"bob"}, ""},
		{"empty file", Auth{Keys: alice, KeysFile: empty}, []string{"alice"}, ""},
		{"duplicate id across", Auth{Keys: alice, KeysFile: dupID}, nil, "duplicate id"},
		{"duplicate hash across", Auth{Keys: alice, KeysFile: dupHash}, nil, "same hash as key alice"},
		{"unknown field", Auth{KeysFile: unknown}, nil, "field extra not found"},
		{"missing file", Auth{KeysFile: filepath.Join(dir, "nope.yaml")}, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := tt.auth.LoadKeys()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("ids = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

func TestAuthRedacted(t *testing.T) {
	a := Auth{Keys: []APIKey{{ID: "alice", Hash: hashA}}}
	r := a.Redacted()
	if strings.Contains(r.Keys[0].Hash, hashA[7:]) {
		t.Fatalf("redacted copy still holds the hash: %q", r.Keys[0].Hash)
	}
	if a.Keys[0].Hash != hashA {
		t.Fatal("Redacted modified the original")
	}
}

func TestDurationRoundTrip(t *testing.T) {
	v, err := Duration(90 * time.Second).MarshalYAML()
	if err != nil || v != "1m30s" {
		t.Fatalf("MarshalYAML = %v, %v", v, err)
	}
}
