package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config says where a remote model lives. The zero values of the optional
// fields are the documented defaults.
type Config struct {
	// BaseURL is the upstream's API root including its version path, as
	// OpenAI SDKs take it: "http://peer:8080/v1". A query (say an
	// api-version) is kept on every request.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>"; empty sends none.
	APIKey string
	// Model replaces the request body's "model" (the upstream's name for
	// the model); empty leaves the body's model as it is.
	Model string
	// ConnectTimeout bounds the dial and the TLS handshake; 0 means 10s.
	ConnectTimeout time.Duration
	// FirstByteTimeout bounds the wait for the first event of a stream (SSE
	// comments do not count) or for the whole answer of a non-streamed
	// request, the time within which a fallback is still possible; 0: none.
	FirstByteTimeout time.Duration
	// Timeout bounds the whole request; 0: none (the caller's ctx bounds it).
	Timeout time.Duration
	// StreamUsage asks the upstream for a usage chunk
	// (stream_options.include_usage) on every stream, so rate limits count
	// real tokens; when the client did not ask for it itself, that chunk is
	// taken out of the client's stream. Off by default because a few older
	// servers reject stream_options.
	StreamUsage bool
}

// DefaultConnectTimeout applies when Config.ConnectTimeout is 0.
const DefaultConnectTimeout = 10 * time.Second

const (
	maxEvent     = 8 << 20  // the longest SSE line accepted from the upstream
	maxBody      = 64 << 20 // the largest non-streamed answer
	maxErrorBody = 64 << 10 // how much of an error body is read
)

// Client forwards requests to one upstream. It is safe for concurrent use;
// it keeps its own connection pool, released by Close.
type Client struct {
	cfg    Config
	base   *url.URL
	host   string // for messages: host[:port], never userinfo, path or query
	auth   string // the Authorization header value, "" for none
	client *http.Client
	tr     *http.Transport
}

// New checks cfg and returns a client for it. Errors name the URL without
// its password and never the API key.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, errors.New("remote: base_url is not a URL") // url's error would quote a password
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("remote: base_url %q must be an http:// or https:// URL with a host", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	u.Fragment = ""
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.FirstByteTimeout < 0 || cfg.Timeout < 0 {
		return nil, errors.New("remote: timeouts must not be negative")
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64, // the default of 2 would redial for most concurrent streams
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c := &Client{
		cfg:  cfg,
		base: u,
		host: u.Host,
		tr:   tr,
		client: &http.Client{
			Transport: tr,
			// A redirect would resend the body (and, to the same host, the
			// key) somewhere the operator did not configure: answer it as
			// an error that names the problem instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if cfg.APIKey != "" {
		c.auth = "Bearer " + cfg.APIKey
	}
	return c, nil
}

// Close releases the idle connections. Requests still running finish.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// Forward sends body, a JSON object already validated by the caller, to
// BaseURL+endpoint (endpoint is "/chat/completions" or "/completions") and
// writes the upstream's answer to w: one JSON body, or for "stream": true
// each event as it arrives, flushed. "model" is set to Config.Model on the
// way up and to showModel in every answer and chunk on the way down; no
// other byte of either is changed.
//
// Failures are *UpstreamError, except a body that is not a JSON object (a
// caller bug). Before the first byte is written, Forward leaves w
// untouched, so the caller can answer with the error's APIError or try a
// fallback. After it, Forward ends the stream with an OpenAI error event
// (data: {"error":...}) and returns the error with Started() true; the one
// exception is the end of ctx, where Forward writes nothing more and the
// caller, who knows why ctx ended, may send the final event itself.
//
// Usage is returned with errors too: a broken stream still cost tokens.
// w should implement http.Flusher, directly or through Unwrap. When it
// also has Written() bool (gin's writer does) and reports true, the caller
// has committed the response (say, with its own keep-alive pings): Forward
// then does not write the status line again and passes the upstream's SSE
// comments from the start, before the first data event.
func (c *Client) Forward(ctx context.Context, endpoint string, body []byte, showModel string, w http.ResponseWriter) (Usage, error) {
	out, stream, dropUsage, err := c.prepare(body)
	if err != nil {
		return Usage{}, fmt.Errorf("remote: request body: %w", err)
	}
	f := &forward{c: c, parent: ctx, w: w, model: quote(showModel), dropUsage: dropUsage}
	rctx, cancel := f.contexts(ctx)
	defer cancel()

	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.base.JoinPath(endpoint).String(), bytes.NewReader(out))
	if err != nil {
		return Usage{}, fmt.Errorf("remote: endpoint %q: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
		// Compression would let a proxy in between hold events back.
		req.Header.Set("Accept-Encoding", "identity")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return Usage{}, f.fail(kindUnavailable, 0, nil, err)
	}
	defer resp.Body.Close()
	f.resp = resp

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Usage{}, f.statusError(resp)
	}
	if stream && !isJSON(resp.Header) {
		return f.stream(resp.Body)
	}
	return f.whole(resp.Body, stream)
}

// prepare returns the body to send: the model replaced and, with
// StreamUsage, usage asked for. dropUsage says the client did not ask for
// usage itself, so its chunk is not forwarded.
func (c *Client) prepare(body []byte) (out []byte, stream, dropUsage bool, err error) {
	ms, err := members(body)
	if err != nil {
		return nil, false, false, err
	}
	stream = string(lookup(ms, "stream")) == "true"
	var edits []edit
	if c.cfg.Model != "" {
		if lookup(ms, "model") == nil {
			edits = append(edits, insertMember(body, ms, "model", quote(c.cfg.Model)))
		} else {
			edits = append(edits, replaceAll(ms, "model", quote(c.cfg.Model))...)
		}
	}
	if stream && c.cfg.StreamUsage {
		opts := lookup(ms, "stream_options")
		var o map[string]json.RawMessage
		if !isNull(opts) {
			if err := json.Unmarshal(opts, &o); err != nil {
				return nil, false, false, fmt.Errorf("stream_options: %w", err)
			}
		}
		if string(o["include_usage"]) != "true" {
			dropUsage = true
			if o == nil {
				o = map[string]json.RawMessage{}
			}
			o["include_usage"] = json.RawMessage("true")
			v, err := json.Marshal(o)
			if err != nil {
				return nil, false, false, err
			}
			if opts == nil {
				edits = append(edits, insertMember(body, ms, "stream_options", v))
			} else {
				edits = append(edits, replaceAll(ms, "stream_options", v)...)
			}
		}
	}
	return apply(body, edits), stream, dropUsage, nil
}

// insertMember is the edit that adds "key": v as the object's first member.
func insertMember(b []byte, ms []member, key string, v []byte) edit {
	at := bytes.IndexByte(b, '{') + 1
	m := append(append(quote(key), ':'), v...)
	if len(ms) > 0 {
		m = append(m, ',')
	}
	return edit{at, at, m}
}

func isJSON(h http.Header) bool {
	return strings.HasPrefix(strings.TrimSpace(strings.ToLower(h.Get("Content-Type"))), "application/json")
}

// forward is the state of one Forward call.
type forward struct {
	c         *Client
	parent    context.Context // the caller's
	rctx      context.Context // the request's: parent plus our timeouts
	w         http.ResponseWriter
	resp      *http.Response
	model     []byte // showModel as a JSON string
	dropUsage bool
	firstByte *time.Timer // nil without FirstByteTimeout
	started   bool
}

// contexts derives the request's context: the caller's, bounded by Timeout,
// and cancelled when FirstByteTimeout passes before the first event.
func (f *forward) contexts(ctx context.Context) (context.Context, context.CancelFunc) {
	cancels := []context.CancelFunc{}
	if d := f.c.cfg.Timeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errTotalTimeout)
		cancels = append(cancels, cancel)
	}
	if d := f.c.cfg.FirstByteTimeout; d > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		f.firstByte = time.AfterFunc(d, func() { cancel(errFirstByteTimeout) })
		cancels = append(cancels, func() { f.firstByte.Stop(); cancel(nil) })
	}
	f.rctx = ctx
	return ctx, func() {
		for i := len(cancels) - 1; i >= 0; i-- {
			cancels[i]()
		}
	}
}

// firstByteOK stops the first-byte timer before anything is written; false
// means it already fired, so nothing may be written.
func (f *forward) firstByteOK() bool {
	return f.firstByte == nil || f.firstByte.Stop()
}

// fail builds the error for a failure of kind k, classifying it by the
// state of the contexts first: the caller's end and our timeouts win over
// the I/O error they caused.
func (f *forward) fail(k kind, status int, body []byte, err error) *UpstreamError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may hold a query with secrets; the host is named anyway
	}
	e := &UpstreamError{Status: status, Body: body, Err: err, host: f.c.host, kind: k, started: f.started}
	switch cause := context.Cause(f.rctx); {
	case f.parent.Err() != nil:
		e.kind, e.Err = kindCaller, context.Cause(f.parent)
	case cause == errTotalTimeout || cause == errFirstByteTimeout:
		e.kind, e.Err = kindTimeout, cause
	case k == kindUnavailable:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			e.kind = kindTimeout
		}
	}
	return e
}

// statusError reads an upstream's error answer.
func (f *forward) statusError(resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil && f.rctx.Err() != nil {
		return f.fail(kindUnavailable, 0, nil, err)
	}
	e := f.fail(kindStatus, resp.StatusCode, body, nil)
	if e.kind != kindStatus {
		return e
	}
	e.detail = normalize(resp.StatusCode, body)
	e.RetryAfter = retryAfter(resp.Header)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.detail.Message = "the upstream redirected (" + resp.Status + "); redirects are not followed: set base_url to the final address"
	}
	e.Err = errors.New(e.detail.Message)
	return e
}

// whole passes a non-streamed answer (or, when asked to stream, a JSON
// answer the upstream sent instead: an error, or a server that ignores
// "stream").
func (f *forward) whole(r io.Reader, stream bool) (Usage, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return Usage{}, f.fail(kindUnavailable, 0, nil, err)
	}
	if len(body) > maxBody {
		return Usage{}, f.fail(kindBadResponse, 0, nil, errors.New("the answer is larger than 64 MiB"))
	}
	if !f.firstByteOK() {
		return Usage{}, f.fail(kindTimeout, 0, nil, errFirstByteTimeout)
	}
	ms, err := members(body)
	if err != nil {
		return Usage{}, f.fail(kindBadResponse, 0, body, fmt.Errorf("the answer is not a JSON object: %w", err))
	}
	if ev := lookup(ms, "error"); !isNull(ev) && lookup(ms, "choices") == nil {
		d := normalize(http.StatusOK, body)
		e := f.fail(kindStatus, statusOfEvent(body, d), body, errors.New(d.Message))
		e.detail = d
		return Usage{}, e
	}
	if stream {
		return Usage{}, f.fail(kindBadResponse, 0, nil, errors.New("a streaming request was answered with one JSON body"))
	}
	usage, ok := parseUsage(lookup(ms, "usage"))
	usage.Estimated = !ok
	out := apply(body, replaceAll(ms, "model", f.model))

	h := f.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	f.writeHeader(f.resp.StatusCode)
	if _, err := f.w.Write(out); err != nil {
		return usage, f.clientGone(err)
	}
	return usage, nil
}

// writeHeader sends the status line unless the caller already did.
func (f *forward) writeHeader(status int) {
	committed := f.committed()
	f.started = true
	if !committed {
		f.w.WriteHeader(status)
	}
}

// committed reports whether the caller already sent the status line, as
// far as w can tell (gin's writer can).
func (f *forward) committed() bool {
	ww, ok := f.w.(interface{ Written() bool })
	return ok && ww.Written()
}

// clientGone is the error for a failed write to the client.
func (f *forward) clientGone(err error) *UpstreamError {
	return &UpstreamError{Err: fmt.Errorf("writing to the client: %w", err), host: f.c.host, kind: kindCaller, started: true}
}
