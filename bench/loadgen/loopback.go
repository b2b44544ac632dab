package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// checkLoopbackURL parses raw and accepts it only when it is an http(s) URL
// whose host is "localhost", an address in 127.0.0.0/8 or ::1. The load
// generator must never be pointed at another machine.
func checkLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: the scheme must be http or https", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("-url %q: user information is not allowed", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("-url %q: no host", raw)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("-url %q: host %q is not loopback (only localhost, 127.0.0.0/8 and ::1 are allowed)", raw, host)
	}
	return u, nil
}

// isLoopbackHost reports whether host (no port, no brackets) is localhost or
// a loopback IP address literal.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if strings.Contains(host, "%") { // zone ("::1%lo"): not needed, keep it simple
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4[0] == 127
	}
	return ip.Equal(net.IPv6loopback)
}

var errNotLoopback = errors.New("refusing to connect to a non-loopback address")

// loopbackControl is a net.Dialer Control function: it runs after name
// resolution, on the address really dialled, so "localhost" that resolves
// elsewhere, or a redirect, cannot lead off the machine.
func loopbackControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", errNotLoopback, address)
	}
	if !isLoopbackHost(host) || strings.EqualFold(host, "localhost") {
		return fmt.Errorf("%w: %s", errNotLoopback, address)
	}
	return nil
}

// newLoopbackClient returns an HTTP client that dials loopback addresses
// only, ignores proxy settings and does not follow redirects. Without
// keepAlive every request opens its own connection: llama-server closes
// connections after a stream without saying so, and a POST on such a
// reused connection fails with EOF (Go does not retry POSTs).
func newLoopbackClient(maxConns int, keepAlive bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackControl}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          maxConns + 4,
		MaxIdleConnsPerHost:   maxConns + 4,
		IdleConnTimeout:       90 * time.Second,
		DisableKeepAlives:     !keepAlive,
		DisableCompression:    true, // a compressed stream could be buffered
		ResponseHeaderTimeout: 0,    // the first event may wait for a queue slot
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
