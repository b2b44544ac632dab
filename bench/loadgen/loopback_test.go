package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCheckLoopbackURL(t *testing.T) {
	ok := []string{
		"http://127.0.0.1:8080",
		"http://127.0.0.1",
		"https://127.0.0.1:8443/",
		"http://127.255.255.254:1",
		"http://127.1.2.3:9/prefix",
		"http://[::1]:8080",
		"http://localhost:8080",
		"http://LocalHost",
		"http://[::ffff:127.0.0.1]:80",
	}
	bad := []string{
		"",
		"127.0.0.1:8080", // no scheme
		"ftp://127.0.0.1/",
		"http://",
		"http://10.0.0.1:8080",
		"http://0.0.0.0:8080",
		"http://128.0.0.1",
		"http://[::]:8080",
		"http://[::2]:8080",
		"http://[::ffff:10.0.0.1]:80",
		"http://example.com",
		"http://127.0.0.1.example.com",
		"http://localhost.example.com",
		"http://evil-localhost",
		"http://user:pw@127.0.0.1",
		"http://[fe80::1%25lo]:80",
		"http://2130706433", // 127.0.0.1 as one number: not an IP literal to Go
	}
	for _, u := range ok {
		if _, err := checkLoopbackURL(u); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range bad {
		if _, err := checkLoopbackURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestLoopbackControl(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "127.9.9.9:1", "[::1]:80"} {
		if err := loopbackControl("tcp", a, nil); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	for _, a := range []string{"10.0.0.1:80", "[2001:db8::1]:443", "localhost:80", "garbage"} {
		if err := loopbackControl("tcp", a, nil); !errors.Is(err, errNotLoopback) {
			t.Errorf("%s: error %v, want errNotLoopback", a, err)
		}
	}
}

// TestClientRefusesOtherHosts checks that the client itself refuses to dial
// off the machine, whatever URL it is handed (TEST-NET-1, never routed: the
// refusal comes before any packet).
func TestClientRefusesOtherHosts(t *testing.T) {
	c := newLoopbackClient(1, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://192.0.2.1:9/", nil)
	_, err := c.Do(req)
	if err == nil || !strings.Contains(err.Error(), errNotLoopback.Error()) {
		t.Fatalf("error %v, want a refusal", err)
	}
}

func TestParseFlagsRefusesRemoteURL(t *testing.T) {
	var sink strings.Builder
	if _, err := parseFlags([]string{"-url", "http://10.1.2.3:8080", "-model", "m"}, &sink); err == nil {
		t.Fatal("remote URL accepted")
	}
	if _, err := parseFlags([]string{"-url", "http://127.0.0.1:8080", "-model", "m", "-requests", "0", "-duration", "0"}, &sink); err == nil {
		t.Fatal("an unbounded run was accepted")
	}
	if _, err := parseFlags([]string{"-model", "m", "-mode", "mixed", "-concurrency", "1"}, &sink); err == nil {
		t.Fatal("mixed with one client was accepted")
	}
	if _, err := parseFlags([]string{"-model", "m", "-label", "../x"}, &sink); err == nil {
		t.Fatal("a label with a path was accepted")
	}
	c, err := parseFlags([]string{"-model", "m", "-concurrency", "1, 2,4"}, &sink)
	if err != nil || len(c.levels) != 3 || c.levels[1] != 2 || c.endpoint != "http://127.0.0.1:8080/v1/completions" {
		t.Fatalf("config %+v, error %v", c, err)
	}
}
