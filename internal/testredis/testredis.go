// Package testredis starts a private redis-server for tests.
package testredis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Start starts a private redis-server on a free loopback port for
// the test and stops it at cleanup. Without the binary it skips the test,
// except in CI (CI=true), where a missing Redis must not pass silently.
func Start(t *testing.T) (addr string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed, and CI=true: .ci/run must install the redis-server package (%v)", err)
		}
		t.Skipf("redis-server is not installed (Debian: apt-get install redis-server); skipping: %v", err)
	}
	// The port is free when chosen but may be taken before Redis binds
	// it; Redis then exits and another port is tried.
	var errs []error
	for range 3 {
		addr, err := tryStartRedis(t, bin)
		if err == nil {
			return addr
		}
		errs = append(errs, err)
	}
	t.Fatalf("could not start redis-server: %v", errors.Join(errs...))
	return ""
}

func tryStartRedis(t *testing.T, bin string) (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	out := &readyWriter{marker: []byte("Ready to accept connections"), ready: make(chan struct{})}
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	select {
	case <-out.ready:
	case <-exited:
		return "", fmt.Errorf("redis-server exited early: %s", out.String())
	case <-time.After(10 * time.Second):
		stop()
		return "", fmt.Errorf("redis-server not ready after 10s: %s", out.String())
	}
	t.Cleanup(stop)

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return "", fmt.Errorf("redis-server said it was ready but PING failed: %w", err)
	}
	return addr, nil
}

// FreePort returns a loopback TCP port that was free when asked.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readyWriter collects the server's log and closes ready when marker
// appears in it, so the test waits on the server's own word, not a sleep.
type readyWriter struct {
	marker []byte
	ready  chan struct{}

	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && bytes.Contains(w.buf.Bytes(), w.marker) {
		w.done = true
		close(w.ready)
	}
	return len(p), nil
}

func (w *readyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
