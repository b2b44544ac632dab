package auth

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/llamagate/llamagate/config"
)

const (
	aliceSecret = "sk-alice-0123456789abcdef"
	bobSecret   = "sk-bob-0123456789abcdef"
)

func intp(v int) *int { return &v }

func TestHashSecret(t *testing.T) {
	// SHA-256("abc") from FIPS 180-2.
	const want = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashSecret("abc"); got != want {
		t.Fatalf("HashSecret(abc) = %s, want %s", got, want)
	}
}

func TestReadSecretHash(t *testing.T) {
	long := strings.Repeat("x", maxSecretLen+1)
	tests := []struct {
		name    string
		in      string
		want    string // the secret whose hash is expected
		wantErr string
	}{
		{"newline", aliceSecret + "\n", aliceSecret, ""},
		{"crlf", aliceSecret + "\r\n", aliceSecret, ""},
		{"no newline", aliceSecret, aliceSecret, ""},
		{"only the first line", aliceSecret + "\nsecond line\n", aliceSecret, ""},
		{"longest", strings.Repeat("y", maxSecretLen) + "\n", strings.Repeat("y", maxSecretLen), ""},
		{"empty", "", "", "empty secret"},
		{"empty line", "\n", "", "empty secret"},
		{"too long", long, "", "longer than 4096"},
		{"too long with newline", long + "\n", "", "longer than 4096"},
		{"leading space", " " + aliceSecret, "", "white space"},
		{"trailing tab", aliceSecret + "\t\n", "", "white space"},
		{"control character", "sk-\x01-0123456789abcdef", "", "control characters"},
		{"short", "hunter2\n", "", "shorter than 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSecretHash(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := HashSecret(tt.want); got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := ReadSecretHash(iotest.ErrReader(boom)); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
}

func TestSecretFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    string
		wantOK  bool
	}{
		{"bearer", map[string]string{"Authorization": "Bearer abc"}, "abc", true},
		{"scheme case-insensitive", map[string]string{"Authorization": "bEaReR abc"}, "abc", true},
		{"extra spaces", map[string]string{"Authorization": "  Bearer   abc  "}, "abc", true},
		{"x-api-key", map[string]string{"X-Api-Key": "abc"}, "abc", true},
		{"bearer wins", map[string]string{"Authorization": "Bearer abc", "X-Api-Key": "def"}, "abc", true},
		{"basic falls back to x-api-key", map[string]string{"Authorization": "Basic Zm9vOmJhcg==", "X-Api-Key": "def"}, "def", true},
		{"empty bearer falls back", map[string]string{"Authorization": "Bearer ", "X-Api-Key": "def"}, "def", true},
		{"basic only", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, "", false},
		{"bare token", map[string]string{"Authorization": "abc"}, "", false},
		{"empty bearer", map[string]string{"Authorization": "Bearer"}, "", false},
		{"empty x-api-key", map[string]string{"X-Api-Key": "  "}, "", false},
		{"none", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got, ok := SecretFromRequest(h)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("got (%q, %v), want (%q, %v)", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	r, err := NewKeyring(config.Auth{
		Keys: []config.APIKey{
			{
				ID:     "alice",
				Hash:   HashSecret(aliceSecret),
				Models: []string{"llama-3-8b", "tiny"},
				Limits: config.Limits{RequestsPerMinute: intp(60), TokensPerMinute: intp(10000)},
				ModelLimits: map[string]config.Limits{
					"llama3": {RequestsPerMinute: intp(10), Concurrent: intp(0)},
				},
				MaxTimeout: config.Duration(5 * time.Minute),
			},
			{ID: "bob", Hash: HashSecret(bobSecret), Scope: "admin", Models: []string{"*"}},
		},
		DefaultLimits: config.Limits{RequestsPerMinute: intp(5), Concurrent: intp(2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookup(t *testing.T) {
	r := testKeyring(t)
	tests := []struct {
		secret string
		wantID string // "" means no key
	}{
		{aliceSecret, "alice"},
		{bobSecret, "bob"},
		{"", ""},
		{"sk-alice", ""},
		{aliceSecret + " ", ""},
		{HashSecret(aliceSecret), ""}, // the hash is not a password
	}
	for _, tt := range tests {
		k, ok := r.Lookup(tt.secret)
		if tt.wantID == "" {
			if ok || k != nil {
				t.Errorf("Lookup(%q) = %v, want no key", tt.secret, k)
			}
			continue
		}
		if !ok || k.ID != tt.wantID {
			t.Errorf("Lookup(%q) = %v, %v; want %s", tt.secret, k, ok, tt.wantID)
		}
	}
	if r.Len() != 2 {
		t.Errorf("Len = %d", r.Len())
	}
	empty, err := NewKeyring(config.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Lookup(aliceSecret); ok {
		t.Error("an empty keyring must find nothing")
	}
}

func TestNewKeyringErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(file, []byte("keys:\n  - {id: alice, hash: "+HashSecret(bobSecret)+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewKeyring(config.Auth{
		Keys:     []config.APIKey{{ID: "alice", Hash: HashSecret(aliceSecret)}},
		KeysFile: file,
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Fatalf("err = %v, want duplicate id", err)
	}
	if _, err := NewKeyring(config.Auth{KeysFile: filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Fatal("a missing keys file must be an error")
	}
}

func TestScope(t *testing.T) {
	r := testKeyring(t)
	alice, _ := r.Lookup(aliceSecret)
	bob, _ := r.Lookup(bobSecret)
	tests := []struct {
		key   *Key
		scope Scope
		want  bool
	}{
		{alice, ScopeInference, true},
		{alice, ScopeAdmin, false},
		{bob, ScopeInference, true},
		{bob, ScopeAdmin, true},
	}
	for _, tt := range tests {
		if got := tt.key.Allows(tt.scope); got != tt.want {
			t.Errorf("%s.Allows(%s) = %v, want %v", tt.key, tt.scope, got, tt.want)
		}
	}
}

func TestAllowsModel(t *testing.T) {
	r := testKeyring(t)
	alice, _ := r.Lookup(aliceSecret)
	bob, _ := r.Lookup(bobSecret)
	noList, _ := newKey(config.APIKey{ID: "c", Hash: HashSecret("c")}, config.Limits{})
	tests := []struct {
		key   *Key
		names []string
		want  bool
	}{
		{alice, []string{"tiny"}, true},
		{alice, []string{"llama-3-8b", "llama3"}, true},
		{alice, []string{"other-id", "tiny"}, true}, // listed by alias
		{alice, []string{"other"}, false},
		{alice, nil, false},
		{bob, []string{"anything"}, true},
		{&noList, []string{"anything"}, true},
	}
	for _, tt := range tests {
		if got := tt.key.AllowsModel(tt.names...); got != tt.want {
			t.Errorf("%s.AllowsModel(%v) = %v, want %v", tt.key, tt.names, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	r := testKeyring(t)
	alice, _ := r.Lookup(aliceSecret)
	bob, _ := r.Lookup(bobSecret)
	tests := []struct {
		name       string
		key        *Key
		names      []string
		wantBucket string
		want       Limits
	}{
		// Key limits, concurrency from the defaults.
		{"key level", alice, []string{"tiny"}, "alice", Limits{60, 10000, 2}},
		// model_limits by alias: own bucket named by the canonical id,
		// requests overridden, tokens from the key, explicit 0 concurrency.
		{"model override", alice, []string{"llama-3-8b", "llama3"}, "alice/llama-3-8b", Limits{10, 10000, 0}},
		{"no names", alice, nil, "alice", Limits{60, 10000, 2}},
		// Nothing on the key: defaults, unset defaults unlimited.
		{"defaults", bob, []string{"tiny"}, "bob", Limits{5, 0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket, lim := tt.key.Limits(tt.names...)
			if bucket != tt.wantBucket || lim != tt.want {
				t.Fatalf("Limits(%v) = %q %+v, want %q %+v", tt.names, bucket, lim, tt.wantBucket, tt.want)
			}
		})
	}
	if alice.MaxTimeout() != 5*time.Minute || bob.MaxTimeout() != 0 {
		t.Errorf("MaxTimeout = %v, %v", alice.MaxTimeout(), bob.MaxTimeout())
	}
}

// TestKeyNeverPrintsMore checks every way a Key is likely to be printed or
// logged shows the id and nothing of the hash.
func TestKeyNeverPrintsMore(t *testing.T) {
	r := testKeyring(t)
	k, _ := r.Lookup(aliceSecret)
	hexHash := strings.TrimPrefix(HashSecret(aliceSecret), "sha256:")

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("req", "key", k, "keyval", *k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("req", "key", k)
	outputs := []string{
		buf.String(),
		fmt.Sprint(k), fmt.Sprintf("%v|%+v|%#v|%s", k, k, k, k),
		fmt.Sprintf("%v|%+v|%#v", *k, *k, *k),
	}
	for _, out := range outputs {
		if !strings.Contains(out, "alice") {
			t.Errorf("output lacks the id: %s", out)
		}
		for _, leak := range []string{aliceSecret, hexHash, hexHash[:16], "10000", "llama"} {
			if strings.Contains(out, leak) {
				t.Errorf("output shows %q: %s", leak, out)
			}
		}
	}
}
